"""The order events inventory consumes, as the orders service must produce them: the
hand-written envelopes below are the consumer-driven contract inventory asked for (the
examples the orders service's tests record from what it really sent are decoded by
tests/contracts/test_event_consumers.py). A change that makes one unreadable fails here."""

from __future__ import annotations

import json
from typing import Any

import pytest

from productstore_common.events import EventDecodeError
from productstore_contracts.events.orders import (
    OrderCancelled,
    OrderExpired,
    OrderPaid,
    OrderPlaced,
)
from productstore_inventory.app.services.order_events import order_registry

ORDER = "7b4f3c2e-0d7a-4a63-9d0e-3f5a2b9c1e44"
USER = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
PRODUCT = "c9e8d7f6-b5a4-4c3d-9e2f-1a0b9c8d7e6f"


def envelope(event_type: str, data: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": "5d1c7a2e-9b3f-4e8a-a1c2-3d4e5f6a7b8c",
            "source": "/productstore/orders",
            "type": f"productstore.orders.{event_type}.v1",
            "subject": ORDER,
            "time": "2026-12-06T02:00:00Z",
            "datacontenttype": "application/json",
            "data": data,
        }
    ).encode()


EXAMPLES = [
    (
        "OrderPlaced",
        {
            "order_id": ORDER,
            "user_id": USER,
            "lines": [
                {"product_id": PRODUCT, "quantity": 2},
                {"product_id": PRODUCT, "quantity": 1},
            ],
            # A field inventory does not read: the producer may add it without a new version.
            "total": "99.90",
        },
        OrderPlaced,
    ),
    ("OrderPaid", {"order_id": ORDER}, OrderPaid),
    ("OrderCancelled", {"order_id": ORDER, "reason": "customer", "paid": True}, OrderCancelled),
    ("OrderExpired", {"order_id": ORDER}, OrderExpired),
]


@pytest.mark.parametrize(("event_type", "data", "kind"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_inventory_reads_what_orders_will_send(
    event_type: str, data: dict[str, Any], kind: type[object]
) -> None:
    event = order_registry().decode(envelope(event_type, data))
    assert isinstance(event.data, kind)
    assert str(event.data.order_id) == ORDER  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("OrderPlaced", {"order_id": ORDER, "user_id": USER, "lines": []}),
        (
            "OrderPlaced",
            {"order_id": ORDER, "user_id": USER, "lines": [{"product_id": PRODUCT, "quantity": 0}]},
        ),
        ("OrderPlaced", {"order_id": ORDER, "lines": [{"product_id": PRODUCT, "quantity": 1}]}),
        ("OrderCancelled", {"order_id": ORDER, "reason": "bored", "paid": False}),
        ("OrderCancelled", {"order_id": ORDER, "reason": "customer"}),
        ("OrderPaid", {}),
    ],
    ids=[
        "no-lines",
        "zero-quantity",
        "no-user",
        "unknown-reason",
        "paid-unknown",
        "no-order",
    ],
)
def test_what_breaks_the_contract_is_dead_lettered_not_guessed(
    event_type: str, data: dict[str, Any]
) -> None:
    with pytest.raises(EventDecodeError) as refused:
        order_registry().decode(envelope(event_type, data))
    assert refused.value.reason == "invalid_payload"
