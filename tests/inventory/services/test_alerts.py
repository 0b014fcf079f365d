"""LowStock once per crossing of the threshold, not on every sale; BackInStock when
available rises above it again; a stock-out and the crossings are counted."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from productstore_contracts.events.inventory import BackInStock, LowStock, StockChanged
from tests.inventory.support import EventLog, levels_of, reservations_of
from tests.support.metrics import Scrape, scrape

pytestmark = pytest.mark.anyio


def _crossings(exported: Scrape, before: Scrape) -> tuple[float, float]:
    """How many crossings of the threshold each way since `before`."""
    name = "inventory_low_stock_crossings_total"
    return (
        exported.grew(before, name, direction="low"),
        exported.grew(before, name, direction="back_in_stock"),
    )


async def test_low_stock_once_then_back_in_stock(
    app: FastAPI, client: httpx.AsyncClient, event_log: EventLog
) -> None:
    product = uuid.uuid4()
    levels, reservations = levels_of(app), reservations_of(app)
    await levels.set_stock(product, {"default": 6}, 3)
    before = await scrape(client)
    # Six sales of one: available 5, 4, 3 (low), 2, 1, 0 (a stock-out).
    for _ in range(6):
        order = uuid.uuid4()
        assert (await reservations.reserve(order, [(product, 1)])).outcome == "reserved"
        assert await reservations.commit(order) == "committed"
    await levels.set_stock(product, {"default": 2}, None)  # still low: no new alert
    await levels.set_stock(product, {"default": 8}, None)  # above 3 again

    await event_log.wait_for(lambda _: bool(event_log.of(product, BackInStock)), "BackInStock")
    await event_log.settle(1.0)
    lows = event_log.of(product, LowStock)
    backs = event_log.of(product, BackInStock)
    assert [(e.available, e.threshold) for e in lows] == [(3, 3)]
    assert [(e.available, e.threshold) for e in backs] == [(8, 3)]
    assert lows[0].version < backs[0].version
    assert any(change.available == 0 for change in event_log.of(product, StockChanged))
    exported = await scrape(client)
    assert exported.grew(before, "inventory_stock_outs_total") == 1
    # One crossing each way, counted as the events are.
    assert _crossings(exported, before) == (1, 1)


async def test_raising_the_threshold_alerts_without_a_sale(
    app: FastAPI, event_log: EventLog
) -> None:
    product = uuid.uuid4()
    levels = levels_of(app)
    await levels.set_stock(product, {"default": 5}, 1)
    await levels.set_stock(product, {"default": 5}, 10)
    await event_log.wait_for(lambda _: bool(event_log.of(product, LowStock)), "LowStock")
    assert [(e.available, e.threshold) for e in event_log.of(product, LowStock)] == [(5, 10)]
