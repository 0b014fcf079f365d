"""LowStock once per crossing of the threshold, not on every sale; BackInStock when
available rises above it again; a stock-out and the crossings are counted."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from productstore_contracts.events.inventory import BackInStock, LowStock, StockChanged
from tests.inventory.support import EventLog, levels_of, reservations_of

pytestmark = pytest.mark.anyio


def _sample(metrics: str, series: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(f"{series} "):
            return float(line.split()[1])
    raise AssertionError(f"no {series} in /metrics")


def _stock_outs(metrics: str) -> float:
    return _sample(metrics, "inventory_stock_outs_total")


def _crossings(metrics: str) -> tuple[float, float]:
    name = "inventory_low_stock_crossings_total"
    return (
        _sample(metrics, f'{name}{{direction="low"}}'),
        _sample(metrics, f'{name}{{direction="back_in_stock"}}'),
    )


async def test_low_stock_once_then_back_in_stock(
    app: FastAPI, client: httpx.AsyncClient, event_log: EventLog
) -> None:
    product = uuid.uuid4()
    levels, reservations = levels_of(app), reservations_of(app)
    await levels.set_stock(product, {"default": 6}, 3)
    exported = (await client.get("/metrics")).text
    before, (low_before, back_before) = _stock_outs(exported), _crossings(exported)
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
    exported = (await client.get("/metrics")).text
    assert _stock_outs(exported) == before + 1
    # One crossing each way, counted as the events are.
    assert _crossings(exported) == (low_before + 1, back_before + 1)


async def test_raising_the_threshold_alerts_without_a_sale(
    app: FastAPI, event_log: EventLog
) -> None:
    product = uuid.uuid4()
    levels = levels_of(app)
    await levels.set_stock(product, {"default": 5}, 1)
    await levels.set_stock(product, {"default": 5}, 10)
    await event_log.wait_for(lambda _: bool(event_log.of(product, LowStock)), "LowStock")
    assert [(e.available, e.threshold) for e in event_log.of(product, LowStock)] == [(5, 10)]
