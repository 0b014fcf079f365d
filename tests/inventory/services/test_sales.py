"""Committed sales become the forecasts' history: real order events through Kafka,
redelivered and re-published, count once on the day the payment committed them; a
paid order cancelled (restocked) is no sale. The endpoint then plans from them."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.kafka import Kafka
from productstore_contracts.events.inventory import StockCommitted, StockReleased
from productstore_contracts.events.orders import OrderCancelled, OrderPaid
from productstore_inventory.app.core.config import InventorySettings
from tests.catalog.support import Tokens
from tests.inventory.support import (
    EventLog,
    bearer,
    levels_of,
    placed,
    planner_of,
    send_order_events,
)

pytestmark = pytest.mark.anyio


class _Tomorrow(datetime):
    """The planner's clock a day ahead: today's sales are then yesterday's."""

    @classmethod
    def now(cls, tz: Any = None) -> _Tomorrow:
        moment = datetime.now(tz) + timedelta(days=1)
        return cls.fromtimestamp(moment.timestamp(), tz)


async def _sold_today(app: FastAPI, product: uuid.UUID) -> int:
    today = datetime.now(UTC).date()
    return sum((await planner_of(app).sales.daily(product, today, today)).values())


async def _until_sold(app: FastAPI, product: uuid.UUID, units: int) -> None:
    deadline = time.monotonic() + 60
    while (found := await _sold_today(app, product)) != units:
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.2)


async def test_paid_orders_are_counted_once_and_planned_from(
    *,
    app: FastAPI,
    client: httpx.AsyncClient,
    tokens: Tokens,
    kafka: Kafka,
    settings: InventorySettings,
    event_log: EventLog,
) -> None:
    product = uuid.uuid4()
    await levels_of(app).set_stock(product, {"default": 10}, 0)
    first, second = uuid.uuid4(), uuid.uuid4()
    paid_id = uuid.uuid4()
    await send_order_events(
        kafka,
        settings.orders_topic,
        [
            (placed(first, [(product, 3)]), None),
            (placed(second, [(product, 2)]), None),
            (OrderPaid(order_id=first), paid_id),
            (OrderPaid(order_id=first), paid_id),  # redelivered
            (OrderPaid(order_id=first), None),  # published again
            (OrderPaid(order_id=second), None),
        ],
    )
    await event_log.wait_for(
        lambda _: bool(
            event_log.of(first, StockCommitted) and event_log.of(second, StockCommitted)
        ),
        "both committed",
    )
    await event_log.wait_for(lambda _: len(event_log.of(first, StockCommitted)) >= 2, "again")
    await _until_sold(app, product, 5)

    # Tomorrow, today's 5 units are a one-day history: 5 a day, 5 left.
    planner = planner_of(app)
    planner.clock = _Tomorrow
    try:
        response = await client.get(
            "/api/inventory/reorder-suggestions",
            params={"product_id": str(product)},
            headers=bearer(tokens.admin),
        )
    finally:
        planner.clock = datetime
    assert response.status_code == 200, response.text
    [item] = response.json()["items"]
    assert item["forecast"]["units_sold"] == 5
    assert item["forecast"]["history_days"] == 1
    assert item["forecast"]["daily_demand"] == pytest.approx(5.0)
    assert item["available"] == 5

    # A paid order cancelled: its units come back and were not sold after all.
    cancelled = OrderCancelled(order_id=first, reason="customer", paid=True)
    await send_order_events(kafka, settings.orders_topic, [(cancelled, None)])
    await event_log.wait_for(lambda _: bool(event_log.of(first, StockReleased)), "restocked")
    await _until_sold(app, product, 2)
