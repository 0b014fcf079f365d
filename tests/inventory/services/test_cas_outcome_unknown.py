"""A compare-and-set whose answer is lost (a timeout) is resolved by a read at SERIAL:
applied before the answer was lost, the hold is not taken twice; lost before it was
applied, the reservation still happens. The fault is made in the store itself (the
real write to Cassandra goes through or not, then the answer is withheld)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

import pytest
from fastapi import FastAPI

from productstore_inventory.app.data.stock import CasOutcomeUnknown, CasResult, StockStore
from productstore_inventory.app.services.reservations import Reservations
from tests.inventory.support import levels_of, reservations_of

pytestmark = pytest.mark.anyio


class LosingStore(StockStore):
    """Loses the answer of the first hold write: after applying it, or before sending it."""

    def __init__(self, store: StockStore, when: Literal["after", "before"]) -> None:
        super().__init__(store.db, resolved_hold_ttl_seconds=store.resolved_hold_ttl_seconds)
        self.when = when
        self.lost = 0

    async def change_hold(self, **kwargs: Any) -> CasResult:
        if self.lost == 0:
            self.lost += 1
            if self.when == "after":
                await super().change_hold(**kwargs)
            raise CasOutcomeUnknown("the answer was lost")
        return await super().change_hold(**kwargs)


@pytest.mark.parametrize("when", ["after", "before"])
async def test_a_lost_answer_holds_exactly_once(
    app: FastAPI, when: Literal["after", "before"]
) -> None:
    real = reservations_of(app)
    store = LosingStore(real.store, when)
    reservations = Reservations(
        store,
        real.outbox,
        real.levels,
        real.metrics,
        hold_seconds=600,
        cas_deadline_seconds=10,
    )
    product = uuid.uuid4()
    await levels_of(app).set_stock(product, {"default": 5}, None)
    order = uuid.uuid4()
    assert (await reservations.reserve(order, [(product, 2)])).outcome == "reserved"
    assert store.lost == 1
    view = await levels_of(app).view(product)
    assert view is not None
    assert (view.on_hand, view.reserved) == (5, 2)
    # Paying moves the one hold; nothing is left reserved.
    assert await reservations.commit(order) == "committed"
    view = await levels_of(app).view(product)
    assert view is not None
    assert (view.on_hand, view.reserved) == (3, 0)
