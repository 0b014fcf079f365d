"""Order events through Kafka into the running consumer: a redelivered event (same id,
handled again: the consumer does not dedupe) and a re-published one (new id, same
order) hold stock once; payment sells it, a cancellation after payment restocks it;
the order events that move no stock are passed over, not dead-lettered; every event
out validates as a contract."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI

from devstack.components.kafka import Kafka
from productstore_common.telemetry.metrics import metrics_of
from productstore_contracts.events.inventory import (
    StockChanged,
    StockCommitted,
    StockReleased,
    StockReserved,
)
from productstore_contracts.events.orders import (
    OrderCancelled,
    OrderDelivered,
    OrderExpired,
    OrderFulfilled,
    OrderLine,
    OrderPaid,
    OrderReserved,
)
from productstore_inventory.app.core.config import InventorySettings
from tests.inventory.support import EventLog, levels_of, placed, send_order_events

pytestmark = pytest.mark.anyio


async def _until(app: FastAPI, product: uuid.UUID, on_hand: int, reserved: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        view = await levels_of(app).view(product)
        assert view is not None
        if (view.on_hand, view.reserved) == (on_hand, reserved):
            return
        assert time.monotonic() < deadline, (view.on_hand, view.reserved)
        await asyncio.sleep(0.2)


async def test_an_order_life_through_kafka(
    app: FastAPI, kafka: Kafka, settings: InventorySettings, event_log: EventLog
) -> None:
    product = uuid.uuid4()
    await levels_of(app).set_stock(product, {"default": 5}, 0)
    order = uuid.uuid4()
    event_id = uuid.uuid4()
    handled = _consumed(app, settings, "handled")
    await send_order_events(
        kafka,
        settings.orders_topic,
        [
            (placed(order, [(product, 2)]), event_id),
            (placed(order, [(product, 2)]), event_id),  # redelivered
            (placed(order, [(product, 2)]), None),  # published again
        ],
    )
    await event_log.wait_for(lambda _: len(event_log.of(order, StockReserved)) >= 2, "reserved")
    await _until(app, product, 5, 2)
    # The copy of the same id reached the handler too (the consumer's dedupe is off,
    # docs/adr/0035): reserve's own decision record held the units once.
    deadline = time.monotonic() + 30
    while _consumed(app, settings, "handled") < handled + 3:
        assert time.monotonic() < deadline, _consumed(app, settings, "handled") - handled
        await asyncio.sleep(0.1)
    assert _consumed(app, settings, "duplicate") == 0
    reserved = [e for e in event_log.events if isinstance(e.data, StockReserved)]
    # Announced again for the re-published event, under the same id: consumers drop it.
    assert len({e.id for e in reserved if e.subject == str(order)}) == 1

    await send_order_events(kafka, settings.orders_topic, [(OrderPaid(order_id=order), None)])
    await event_log.wait_for(lambda _: bool(event_log.of(order, StockCommitted)), "committed")
    await _until(app, product, 3, 0)

    cancelled = OrderCancelled(order_id=order, reason="customer", paid=True)
    await send_order_events(kafka, settings.orders_topic, [(cancelled, None)])
    await event_log.wait_for(lambda _: bool(event_log.of(order, StockReleased)), "restocked")
    await _until(app, product, 5, 0)
    assert event_log.of(order, StockReleased)[0].reason == "restocked"

    # An order the orders service lets expire unpaid gives its units back.
    unpaid = uuid.uuid4()
    await send_order_events(
        kafka,
        settings.orders_topic,
        [(placed(unpaid, [(product, 4)]), None), (OrderExpired(order_id=unpaid), None)],
    )
    await event_log.wait_for(lambda _: bool(event_log.of(unpaid, StockReleased)), "expired")
    assert event_log.of(unpaid, StockReleased)[0].reason == "order_expired"
    assert event_log.of(unpaid, StockReserved)
    await _until(app, product, 5, 0)

    changes = event_log.of(product, StockChanged)
    assert [c.version for c in changes] == sorted(c.version for c in changes)
    assert changes[-1].on_hand == 5


def _consumed(app: FastAPI, settings: InventorySettings, outcome: str) -> float:
    labels = {"group": settings.consumer_group, "outcome": outcome}
    value = metrics_of(app).registry.get_sample_value("events_consumed_total", labels)
    return value or 0.0


async def test_order_events_that_move_no_stock_are_passed_over(
    app: FastAPI, kafka: Kafka, settings: InventorySettings, event_log: EventLog
) -> None:
    product = uuid.uuid4()
    await levels_of(app).set_stock(product, {"default": 3}, 0)
    order, user = uuid.uuid4(), uuid.uuid4()
    lines = [OrderLine(product_id=product, quantity=1)]
    skipped = _consumed(app, settings, "skipped")
    dead = _consumed(app, settings, "dead_lettered")
    hold = datetime.now(UTC) + timedelta(minutes=10)
    await send_order_events(
        kafka,
        settings.orders_topic,
        [
            (placed(order, [(product, 1)]), None),
            (OrderReserved(order_id=order, user_id=user, hold_expires_at=hold), None),
            (OrderPaid(order_id=order), None),
            (OrderFulfilled(order_id=order, user_id=user, lines=lines), None),
            (OrderDelivered(order_id=order, user_id=user, lines=lines), None),
        ],
    )
    # The events around them are handled in order: the sale after OrderReserved.
    await event_log.wait_for(lambda _: bool(event_log.of(order, StockCommitted)), "committed")
    await _until(app, product, 2, 0)
    deadline = time.monotonic() + 60
    while _consumed(app, settings, "skipped") < skipped + 3:
        assert time.monotonic() < deadline, _consumed(app, settings, "skipped") - skipped
        await asyncio.sleep(0.2)
    assert _consumed(app, settings, "skipped") == skipped + 3
    assert _consumed(app, settings, "dead_lettered") == dead
