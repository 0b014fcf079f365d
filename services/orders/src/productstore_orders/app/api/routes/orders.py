"""Checkout and orders: customers place, read and cancel their own; admins read all,
cancel, fulfil (the payment is captured) and deliver."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from productstore_common.auth import Principal
from productstore_common.openapi import problems
from productstore_orders.app.api.deps import (
    AdminUser,
    CheckoutDep,
    CurrentUser,
    LifecycleDep,
    ReadsDep,
)
from productstore_orders.app.data.orders import OrderRecord
from productstore_orders.app.models import (
    OrderCreate,
    OrderLinePublic,
    OrderPublic,
    OrdersPage,
    OrderStatus,
    ShippingAddress,
    ShortLinePublic,
)

router = APIRouter(prefix="/api/orders", tags=["orders"])

_KEY_DESCRIPTION = (
    "Names this checkout attempt (e.g. a UUID made when the shopper pressed Buy): "
    "the same key and body return the same order, another body with it is refused (409)"
)


def public(order: OrderRecord) -> OrderPublic:
    return OrderPublic(
        id=order.order_id,
        user_id=order.user_id,
        status=order.status,  # type: ignore[arg-type]
        lines=[
            OrderLinePublic(
                product_id=line.product_id,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                line_total=line.line_total,
            )
            for line in order.lines
        ],
        total=order.total,
        currency=order.currency,
        shipping_address=ShippingAddress.model_validate(order.shipping_address),
        short=[
            ShortLinePublic(product_id=s.product_id, requested=s.requested, available=s.available)
            for s in order.short
        ],
        cancel_reason=order.cancel_reason,
        hold_expires_at=order.hold_expires_at if order.status == "reserved" else None,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


def _is_admin(principal: Principal) -> bool:
    return principal.has_role("admin")


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OrderPublic,
    responses={
        202: {
            "headers": {
                "Location": {"description": "The order's URL", "schema": {"type": "string"}}
            }
        },
        **problems(
            401,
            403,
            409,
            422,
            503,
            s409="The Idempotency-Key was used with another body",
            s422="Bad body, no Idempotency-Key, unknown products, an empty cart",
        ),
    },
    summary="Check out: place an order (it is reserved and paid asynchronously)",
)
async def place_order(
    body: OrderCreate,
    user: CurrentUser,
    checkout: CheckoutDep,
    response: Response,
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            pattern=r"^[A-Za-z0-9._~:-]+$",
            description=_KEY_DESCRIPTION,
        ),
    ],
) -> OrderPublic:
    """Answers at once with the order `pending`; follow `Location` to see it reach
    `paid` (or `rejected`, `payment_failed`, `expired`)."""
    order = await checkout.place(uuid.UUID(user.sub), idempotency_key, body)
    response.headers["Location"] = f"/api/orders/{order.order_id}"
    return public(order)


@router.get(
    "",
    response_model=OrdersPage,
    responses=problems(401, 403),
    summary="Your orders, newest first (admins: every order with a status)",
)
async def list_orders(
    principal: CurrentUser,
    reads: ReadsDep,
    status_filter: Annotated[
        OrderStatus | None,
        Query(
            alias="status",
            description="Only orders in this status; for an admin, everyone's orders",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Orders at most")] = 50,
) -> OrdersPage:
    if _is_admin(principal) and status_filter is not None:
        orders = await reads.with_status(status_filter, limit)
    else:
        orders = await reads.of_user(uuid.UUID(principal.sub), limit)
        if status_filter is not None:
            orders = [order for order in orders if order.status == status_filter]
    return OrdersPage(items=[public(order) for order in orders])


@router.get(
    "/{order_id}",
    response_model=OrderPublic,
    responses=problems(401, 403, 404, s404="No such order of yours"),
    summary="One order (its owner or an admin)",
)
async def get_order(order_id: uuid.UUID, principal: CurrentUser, reads: ReadsDep) -> OrderPublic:
    order = await reads.visible(order_id, uuid.UUID(principal.sub), admin=_is_admin(principal))
    return public(order)


@router.post(
    "/{order_id}/cancel",
    response_model=OrderPublic,
    responses=problems(
        401,
        403,
        404,
        409,
        503,
        s409="The order is past the point it can be cancelled from (`status` says where)",
        s503="The payment provider did not answer; retry (the refund is made once)",
    ),
    summary="Cancel an order (its owner before fulfilment, an admin any time)",
)
async def cancel_order(
    order_id: uuid.UUID, principal: CurrentUser, reads: ReadsDep, lifecycle: LifecycleDep
) -> OrderPublic:
    """Held stock is released, sold stock restocked; a paid order's authorisation is
    voided, a captured one refunded."""
    admin = _is_admin(principal)
    order = await reads.visible(order_id, uuid.UUID(principal.sub), admin=admin)
    return public(await lifecycle.cancel(order, by_admin=admin))


@router.post(
    "/{order_id}/fulfil",
    response_model=OrderPublic,
    responses=problems(
        401,
        403,
        404,
        409,
        503,
        s409="The order is not paid",
        s503="The payment provider did not answer; retry (the capture is made once)",
    ),
    summary="Mark a paid order fulfilled, capturing its payment (admin)",
)
async def fulfil_order(
    order_id: uuid.UUID, admin: AdminUser, reads: ReadsDep, lifecycle: LifecycleDep
) -> OrderPublic:
    order = await reads.visible(order_id, uuid.UUID(admin.sub), admin=True)
    return public(await lifecycle.fulfil(order))


@router.post(
    "/{order_id}/deliver",
    response_model=OrderPublic,
    responses=problems(401, 403, 404, 409, s409="The order is not fulfilled"),
    summary="Mark a fulfilled order delivered (admin)",
)
async def deliver_order(
    order_id: uuid.UUID, admin: AdminUser, reads: ReadsDep, lifecycle: LifecycleDep
) -> OrderPublic:
    order = await reads.visible(order_id, uuid.UUID(admin.sub), admin=True)
    return public(await lifecycle.deliver(order))
