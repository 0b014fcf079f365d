"""Expired holds are released lazily too, before any sweep: by a reservation that would
otherwise fall short, and by a late payment (which is refused)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI

from tests.inventory.support import levels_of, reservations_of
from tests.support.metrics import scrape

pytestmark = pytest.mark.anyio

HOLD_SECONDS = 1.0


@pytest.fixture(scope="module")
def overrides() -> dict[str, object]:
    # The sweeper passes once at start, then not within the module.
    # (Its first pass looks back one minute only: a long one could meet the hold too.)
    return {
        "hold_seconds": HOLD_SECONDS,
        "sweep_interval_seconds": 3600.0,
        "sweep_lookback_seconds": 60,
    }


async def test_a_reservation_takes_the_stock_of_expired_holds(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product = uuid.uuid4()
    levels, reservations = levels_of(app), reservations_of(app)
    await levels.set_stock(product, {"default": 2}, None)
    stale = uuid.uuid4()
    assert (await reservations.reserve(stale, [(product, 2)])).outcome == "reserved"
    # While the hold is live, the next buyer is short.
    assert (await reservations.reserve(uuid.uuid4(), [(product, 1)])).outcome == "shortfall"
    before = await scrape(client)
    await asyncio.sleep(HOLD_SECONDS + 0.3)

    buyer = uuid.uuid4()
    assert (await reservations.reserve(buyer, [(product, 2)])).outcome == "reserved"
    record = await reservations.store.reservation(stale)
    assert record is not None
    assert record.state == "expired"
    view = await levels.view(product)
    assert view is not None
    assert (view.on_hand, view.reserved) == (2, 2)
    after = await scrape(client)
    assert after.grew(before, "inventory_holds_expired_total", how="lazy") == 1


async def test_a_late_payment_expires_the_order_and_is_refused(app: FastAPI) -> None:
    product = uuid.uuid4()
    levels, reservations = levels_of(app), reservations_of(app)
    await levels.set_stock(product, {"default": 3}, None)
    order = uuid.uuid4()
    await reservations.reserve(order, [(product, 3)])
    await asyncio.sleep(HOLD_SECONDS + 0.3)
    assert await reservations.commit(order) == "refused"
    view = await levels.view(product)
    assert view is not None
    assert (view.on_hand, view.reserved) == (3, 0)
