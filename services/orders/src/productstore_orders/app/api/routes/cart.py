"""The signed-in user's cart, priced by the catalog whenever it is read."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from productstore_common.openapi import problems
from productstore_orders.app.api.deps import CartsDep, CurrentUser
from productstore_orders.app.models import CartItemUpdate, CartPublic

router = APIRouter(prefix="/api/cart", tags=["cart"])

_CATALOG_DOWN = "The catalog did not answer; retry after `Retry-After` seconds"


@router.get(
    "",
    response_model=CartPublic,
    responses=problems(401, 403, 503, s503=_CATALOG_DOWN),
    summary="The cart, at today's prices, with what changed since items were added",
)
async def get_cart(user: CurrentUser, carts: CartsDep) -> CartPublic:
    return await carts.view(uuid.UUID(user.sub))


@router.put(
    "/items/{product_id}",
    response_model=CartPublic,
    responses=problems(
        401, 403, 404, 422, 503, s404="No such product in the catalog", s503=_CATALOG_DOWN
    ),
    summary="Set how many units of a product the cart holds (0 removes it)",
)
async def put_item(
    product_id: uuid.UUID, body: CartItemUpdate, user: CurrentUser, carts: CartsDep
) -> CartPublic:
    return await carts.put(uuid.UUID(user.sub), product_id, body.quantity)


@router.delete(
    "/items/{product_id}",
    response_model=CartPublic,
    responses=problems(401, 403, 404, 503, s404="The product is not in the cart"),
    summary="Remove a product from the cart",
)
async def delete_item(product_id: uuid.UUID, user: CurrentUser, carts: CartsDep) -> CartPublic:
    return await carts.remove(uuid.UUID(user.sub), product_id)


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403),
    summary="Empty the cart",
)
async def clear_cart(user: CurrentUser, carts: CartsDep) -> Response:
    await carts.clear(uuid.UUID(user.sub))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
