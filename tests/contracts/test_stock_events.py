"""The inventory events the catalog consumes (its `in_stock`), as inventory sends them:
the catalog's registry reads every type of the topic, and a StockChanged without what
the catalog needs (product, available, version) is refused, not guessed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from productstore_catalog.app.data.stock_feed import stock_registry
from productstore_common.events import EventDecodeError, new_event
from productstore_contracts.events.inventory import (
    INVENTORY_EVENTS,
    INVENTORY_SOURCE,
    StockChanged,
)

PRODUCT = "c9e8d7f6-b5a4-4c3d-9e2f-1a0b9c8d7e6f"
# StockChanged on the wire as inventory's StockLevels.publish sends it today.
STOCK_CHANGED = {
    "product_id": PRODUCT,
    "available": 0,
    "version": 17,
    "on_hand": 3,
    "reserved": 3,
    "in_stock": False,
}


def envelope(event_type: str, data: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "source": INVENTORY_SOURCE,
            "type": f"productstore.inventory.{event_type}.v1",
            "subject": PRODUCT,
            "time": "2026-12-06T02:00:00Z",
            "datacontenttype": "application/json",
            "data": data,
        }
    ).encode()


def test_the_catalog_reads_stock_changed_as_inventory_sends_it() -> None:
    event = stock_registry().decode(envelope("StockChanged", STOCK_CHANGED))
    assert isinstance(event.data, StockChanged)
    assert (str(event.data.product_id), event.data.available, event.data.version) == (
        PRODUCT,
        0,
        17,
    )


def test_a_stock_changed_made_by_the_contract_model_round_trips() -> None:
    sent = StockChanged(
        product_id=uuid.UUID(PRODUCT), available=4, version=3, on_hand=4, reserved=0, in_stock=True
    )
    wire = new_event(sent, source=INVENTORY_SOURCE, subject=PRODUCT).to_json()
    assert stock_registry().decode(wire).data == sent


def test_every_type_of_the_topic_is_known() -> None:
    # An unknown type would be dead-lettered: the order outcomes must only be skipped.
    assert stock_registry().types == {kind.event_type for kind in INVENTORY_EVENTS}


@pytest.mark.parametrize("missing", ["product_id", "available", "version"])
def test_a_stock_changed_without_what_the_catalog_needs_is_refused(missing: str) -> None:
    data = {key: value for key, value in STOCK_CHANGED.items() if key != missing}
    with pytest.raises(EventDecodeError) as refused:
        stock_registry().decode(envelope("StockChanged", data))
    assert refused.value.reason == "invalid_payload"
