"""The orders service's problems (RFC 9457), each with a stable `reason` for clients."""

from __future__ import annotations

import uuid

from productstore_common.errors import Problem, problem


def product_not_found(product_id: uuid.UUID) -> Problem:
    return problem(
        404,
        "product_not_found",
        f"There is no product {product_id} in the catalog; it may have been deleted.",
        product_id=str(product_id),
    )


def unknown_products(product_ids: list[uuid.UUID]) -> Problem:
    listed = ", ".join(str(p) for p in product_ids)
    return problem(
        422,
        "unknown_products",
        f"These products are not in the catalog: {listed}. Remove them and try again.",
        product_ids=[str(p) for p in product_ids],
    )


def cart_item_not_found(product_id: uuid.UUID) -> Problem:
    return problem(404, "cart_item_not_found", f"Product {product_id} is not in your cart.")


def empty_order() -> Problem:
    return problem(
        422,
        "empty_order",
        "The order has no lines and your cart is empty: add items to the cart or send `lines`.",
    )


def mixed_currencies(currencies: list[str]) -> Problem:
    return problem(
        422,
        "mixed_currencies",
        f"One order is paid in one currency; these products are priced in "
        f"{', '.join(sorted(currencies))}. Place one order per currency.",
    )


def too_many_units(product_id: uuid.UUID, quantity: int, limit: int) -> Problem:
    return problem(
        422,
        "quantity_too_large",
        f"Product {product_id} is ordered {quantity} times in all; at most {limit} per order.",
    )


def idempotency_key_reused() -> Problem:
    return problem(
        409,
        "idempotency_key_reused",
        "This Idempotency-Key was used for a checkout with another body; use a new key for a "
        "new order, or send the same body to get the order it made.",
    )


def order_not_found(order_id: uuid.UUID) -> Problem:
    return problem(404, "order_not_found", f"There is no order {order_id} of yours.")


def illegal_transition(order_id: uuid.UUID, status: str, action: str) -> Problem:
    return problem(
        409,
        "illegal_transition",
        f"Order {order_id} is {status}; it cannot be {action} from there.",
        current_status=status,
    )


def callee_unavailable(callee: str) -> Problem:
    return problem(
        503,
        "dependency_unavailable",
        f"The {callee} service is unavailable, so this request could not be completed; "
        "retry in 5 s.",
        headers={"Retry-After": "5"},
        dependency=callee,
    )


def cart_full(limit: int) -> Problem:
    return problem(
        422, "cart_full", f"A cart holds at most {limit} products; remove one to add another."
    )
