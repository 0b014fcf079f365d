"""The inventory's problems (RFC 9457), each with a stable `reason` for clients."""

from __future__ import annotations

import uuid

from productstore_common.errors import Problem, problem


def inventory_not_found(product_id: uuid.UUID) -> Problem:
    return problem(
        404,
        "inventory_not_found",
        f"Product {product_id} has no stock record; set one with PUT /api/inventory/{product_id}.",
    )


def below_reserved(product_id: uuid.UUID, location: str, on_hand: int, reserved: int) -> Problem:
    return problem(
        409,
        "below_reserved",
        f"Location {location!r} of product {product_id} has {reserved} units reserved by "
        f"unpaid orders; on_hand cannot be set to {on_hand}. Set at least {reserved}, or "
        "wait until those holds are paid, released or expire.",
        location=location,
        reserved=reserved,
        requested_on_hand=on_hand,
    )


def contended(product_id: uuid.UUID, location: str) -> Problem:
    return problem(
        409,
        "write_contended",
        f"Stock of product {product_id} at {location!r} kept changing under this write; retry it.",
        location=location,
    )


def streams_full(limit: int) -> Problem:
    return problem(
        503,
        "streams_full",
        f"This replica already serves {limit} stock streams; retry shortly (another "
        "replica may have room).",
        headers={"Retry-After": "5"},
    )


def bad_last_event_id(detail: str) -> Problem:
    return problem(
        422,
        "bad_last_event_id",
        f"Last-Event-ID: {detail}; send back an `id` this stream sent, or none to start now.",
    )
