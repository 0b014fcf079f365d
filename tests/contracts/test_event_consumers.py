"""Every consumer decodes the examples its producers' tests recorded, with the
registry it consumes with: a producer's change a consumer cannot read fails here."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest

from productstore_catalog.app.data.ratings_feed import ratings_registry
from productstore_catalog.app.data.stock_feed import stock_registry
from productstore_common.events import EventRegistry
from productstore_contracts.events.schemas import TOPIC_EVENTS, example
from productstore_contracts.services import DESCRIPTORS
from productstore_inventory.app.services.order_events import order_registry
from productstore_notifications.app.services import notifier
from productstore_orders.app.services.inventory_events import inventory_registry
from productstore_reviews.app.services.purchases import orders_registry
from productstore_wishlist.app.services import events as wishlist_events

# The registry each consumer reads each topic with.
CONSUMERS: dict[tuple[str, str], Callable[[], EventRegistry]] = {
    ("catalog", "productstore.catalog"): lambda: EventRegistry(
        TOPIC_EVENTS["productstore.catalog"]
    ),
    ("catalog", "productstore.inventory"): stock_registry,
    ("catalog", "productstore.reviews"): ratings_registry,
    ("inventory", "productstore.orders"): order_registry,
    ("orders", "productstore.inventory"): inventory_registry,
    ("reviews", "productstore.orders"): orders_registry,
    ("wishlist", "productstore.catalog"): wishlist_events.price_registry,
    ("wishlist", "productstore.inventory"): wishlist_events.stock_registry,
    ("notifications", "productstore.orders"): notifier.events_registry,
    ("notifications", "productstore.wishlist"): notifier.events_registry,
    ("notifications", "productstore.inventory"): notifier.events_registry,
    ("notifications", "productstore.reviews"): notifier.events_registry,
}

CASES = [
    (service, topic, kind.event_type)
    for (service, topic) in CONSUMERS
    for kind in TOPIC_EVENTS[topic]
]


def test_every_consumer_of_every_topic_is_listed() -> None:
    consumed = {(d.name, topic) for d in DESCRIPTORS for topic in d.consumes}
    assert consumed == set(CONSUMERS)


@pytest.mark.parametrize(("service", "topic", "event_type"), CASES)
def test_the_consumer_reads_the_recorded_example(service: str, topic: str, event_type: str) -> None:
    data = example(event_type)
    assert data is not None, f"no recorded example of {event_type}"
    envelope = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"/productstore/{topic.removeprefix('productstore.')}",
        "type": event_type,
        "subject": str(data.get("order_id") or data.get("product_id") or uuid.uuid4()),
        "time": "2026-12-06T05:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
    }
    event = CONSUMERS[(service, topic)]().decode(json.dumps(envelope).encode())
    assert event.type == event_type
    assert event.data.model_dump(mode="json", exclude_unset=True).items() <= data.items()
