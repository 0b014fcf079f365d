"""The low-stock backlog gauges follow the low-stock list: a product that falls to its
threshold is counted (and ages) until it is restocked above it."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from productstore_inventory.app.services.low_stock_watch import LowStockWatch
from tests.inventory.support import levels_of
from tests.support.metrics import scrape

pytestmark = pytest.mark.anyio


async def test_a_low_product_is_counted_until_it_is_restocked(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    levels = levels_of(app)
    watch = LowStockWatch(levels, levels.metrics, interval_seconds=3600)
    low_before, _ = await watch.watch_once()
    product = uuid.uuid4()
    await levels.set_stock(product, {"default": 2}, 5)  # at once below its threshold

    low, oldest = await watch.watch_once()
    assert low == low_before + 1
    assert oldest >= 0
    exported = await scrape(client)
    assert exported.value("inventory_low_stock_products") == low
    # The app's own watch may have set it again since: the same list, a moment older.
    assert exported.value("inventory_low_stock_oldest_seconds") == pytest.approx(oldest, abs=60)
    assert any(row.product_id == product for row in await levels.low_stock(10_000))

    await levels.set_stock(product, {"default": 9}, 5)  # above it again
    low_after, _ = await watch.watch_once()
    assert low_after == low_before
    assert not any(row.product_id == product for row in await levels.low_stock(10_000))
