"""Reservations called as the order-event consumer calls them, on devstack's Cassandra:
idempotent per order, lines summed, all or nothing, commit, release, restock."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI

from productstore_contracts.events.inventory import (
    StockCommitRefused,
    StockReleased,
    StockReserved,
    StockShortfall,
)
from productstore_inventory.app.services.reservations import hold_id_of
from tests.inventory.support import EventLog, levels_of, reservations_of

pytestmark = pytest.mark.anyio


async def _stock(app: FastAPI, product: uuid.UUID, **locations: int) -> None:
    await levels_of(app).set_stock(product, locations or {"default": 0}, None)


async def _counts(app: FastAPI, product: uuid.UUID) -> tuple[int, int]:
    view = await levels_of(app).view(product)
    assert view is not None
    assert 0 <= view.reserved <= view.on_hand
    return view.on_hand, view.reserved


async def test_a_retry_is_a_no_op_and_the_first_call_decides(app: FastAPI) -> None:
    product = uuid.uuid4()
    await _stock(app, product, default=10)
    reservations = reservations_of(app)
    order = uuid.uuid4()
    first = await reservations.reserve(order, [(product, 4)])
    again = await reservations.reserve(order, [(product, 4)])
    # A redelivery carrying other lines does not change what was decided.
    other = await reservations.reserve(order, [(product, 9)])
    assert (first.outcome, again.outcome, other.outcome) == ("reserved",) * 3
    assert first.expires_at == again.expires_at == other.expires_at
    assert await _counts(app, product) == (10, 4)


async def test_lines_of_one_product_are_summed_into_one_hold(app: FastAPI) -> None:
    product = uuid.uuid4()
    await _stock(app, product, default=5)
    reservations = reservations_of(app)
    short = await reservations.reserve(uuid.uuid4(), [(product, 3), (product, 3)])
    assert short.outcome == "shortfall"
    assert short.short == {product: 5}
    order = uuid.uuid4()
    assert (await reservations.reserve(order, [(product, 2), (product, 3)])).outcome == "reserved"
    hold = await reservations.store.hold(product, "default", hold_id_of(order, product, "default"))
    assert hold is not None
    assert (hold.quantity, hold.state) == (5, "held")
    assert await _counts(app, product) == (5, 5)


async def test_a_short_line_releases_what_the_order_took(app: FastAPI, event_log: EventLog) -> None:
    plenty, scarce = uuid.uuid4(), uuid.uuid4()
    await _stock(app, plenty, default=5)
    await _stock(app, scarce, default=1)
    order = uuid.uuid4()
    result = await reservations_of(app).reserve(order, [(plenty, 3), (scarce, 2)])
    assert result.outcome == "shortfall"
    assert await _counts(app, plenty) == (5, 0)
    assert await _counts(app, scarce) == (1, 0)
    await event_log.wait_for(lambda _: bool(event_log.of(order, StockShortfall)), "shortfall")
    (shortfall,) = event_log.of(order, StockShortfall)
    assert [(line.product_id, line.requested, line.available) for line in shortfall.short] == [
        (scarce, 2, 1)
    ]
    assert not event_log.of(order, StockReserved)


async def test_an_order_is_split_across_locations_in_name_order(app: FastAPI) -> None:
    product = uuid.uuid4()
    await _stock(app, product, b=3, a=2)
    assert (await reservations_of(app).reserve(uuid.uuid4(), [(product, 4)])).outcome == "reserved"
    view = await levels_of(app).view(product)
    assert view is not None
    assert {name: c.reserved for name, c in view.locations.items()} == {"a": 2, "b": 2}


async def test_commit_sells_and_restock_puts_back(app: FastAPI, event_log: EventLog) -> None:
    product = uuid.uuid4()
    await _stock(app, product, a=2, b=2)
    reservations = reservations_of(app)
    order = uuid.uuid4()
    await reservations.reserve(order, [(product, 3)])
    assert await reservations.commit(order) == "committed"
    assert await reservations.commit(order) == "committed"  # a redelivered payment
    assert await _counts(app, product) == (1, 0)
    assert await reservations.restock(order) == "restocked"
    assert await reservations.restock(order) == "restocked"
    assert await _counts(app, product) == (4, 0)
    await event_log.wait_for(lambda _: bool(event_log.of(order, StockReleased)), "restock")
    assert {event.reason for event in event_log.of(order, StockReleased)} == {"restocked"}


async def test_a_released_order_cannot_be_paid(app: FastAPI, event_log: EventLog) -> None:
    product = uuid.uuid4()
    await _stock(app, product, default=3)
    reservations = reservations_of(app)
    order = uuid.uuid4()
    await reservations.reserve(order, [(product, 3)])
    assert await reservations.release(order, "cancelled") == "released"
    assert await reservations.release(order, "cancelled") == "released"
    assert await _counts(app, product) == (3, 0)
    assert await reservations.commit(order) == "refused"
    assert await _counts(app, product) == (3, 0)
    await event_log.wait_for(lambda _: bool(event_log.of(order, StockCommitRefused)), "refusal")
    assert event_log.of(order, StockCommitRefused)[0].reason == "released"


async def test_a_cancellation_that_overtakes_its_order_holds_nothing(app: FastAPI) -> None:
    product = uuid.uuid4()
    await _stock(app, product, default=3)
    reservations = reservations_of(app)
    order = uuid.uuid4()
    assert await reservations.release(order, "cancelled") == "released"
    assert (await reservations.reserve(order, [(product, 1)])).outcome == "released"
    assert await _counts(app, product) == (3, 0)


async def test_a_product_without_stock_is_a_shortfall(app: FastAPI) -> None:
    result = await reservations_of(app).reserve(uuid.uuid4(), [(uuid.uuid4(), 1)])
    assert result.outcome == "shortfall"
