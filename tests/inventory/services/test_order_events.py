"""Order events through Kafka into the running consumer: a redelivered event (same id)
and a re-published one (new id, same order) hold stock once; payment sells it,
a cancellation after payment restocks it; every event out validates as a contract."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from fastapi import FastAPI

from devstack.components.kafka import Kafka
from productstore_contracts.events.inventory import (
    StockChanged,
    StockCommitted,
    StockReleased,
    StockReserved,
)
from productstore_contracts.events.orders import OrderCancelled, OrderExpired, OrderPaid
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
