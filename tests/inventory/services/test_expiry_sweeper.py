"""Holds that expire unpaid are released by the sweeper with nobody asking, and a payment
that comes after is refused (the orders service refunds it) instead of overselling."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from fastapi import FastAPI

from productstore_contracts.events.inventory import StockCommitRefused, StockReleased
from tests.inventory.support import EventLog, levels_of, reservations_of

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def overrides() -> dict[str, object]:
    return {"hold_seconds": 1.0, "sweep_interval_seconds": 0.3}


async def test_the_sweeper_releases_expired_holds(app: FastAPI, event_log: EventLog) -> None:
    product = uuid.uuid4()
    levels, reservations = levels_of(app), reservations_of(app)
    await levels.set_stock(product, {"default": 4}, None)
    order = uuid.uuid4()
    assert (await reservations.reserve(order, [(product, 3)])).outcome == "reserved"
    deadline = time.monotonic() + 30
    while True:
        view = await levels.view(product)
        assert view is not None
        if view.reserved == 0:
            break
        assert time.monotonic() < deadline, "the sweeper did not release the hold"
        await asyncio.sleep(0.2)
    record = await reservations.store.reservation(order)
    assert record is not None
    assert record.state == "expired"
    await event_log.wait_for(lambda _: bool(event_log.of(order, StockReleased)), "release")
    assert event_log.of(order, StockReleased)[0].reason == "expired"

    # The payment arrives late: refused, nothing sold.
    assert await reservations.commit(order) == "refused"
    view = await levels.view(product)
    assert view is not None
    assert (view.on_hand, view.reserved) == (4, 0)
    await event_log.wait_for(lambda _: bool(event_log.of(order, StockCommitRefused)), "refusal")
    assert event_log.of(order, StockCommitRefused)[0].reason == "expired"
