"""`product_stock` keeps the newest stock level per product on the real Cassandra,
whatever order levels are written in (Cassandra decides by the stock version)."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI

from productstore_catalog.app.data.stock import StockRecord, StockStore
from productstore_catalog.app.services.catalog import Catalog
from productstore_common.kit import container_of

pytestmark = pytest.mark.anyio


def _store(app: FastAPI) -> StockStore:
    return container_of(app).get(Catalog).stock


def _level(product_id: uuid.UUID, version: int, available: int) -> StockRecord:
    return StockRecord(
        product_id=product_id, in_stock=available > 0, available=available, version=version
    )


@pytest.mark.parametrize(
    ("versions", "newest"),
    [
        ((1, 2, 3), 3),  # in order
        ((3, 1, 2), 3),  # the newest first
        ((2, 3, 3, 1), 3),  # a duplicate and a late one
        ((7,), 7),
    ],
)
async def test_the_newest_level_is_kept_in_any_order(
    app: FastAPI, versions: tuple[int, ...], newest: int
) -> None:
    product_id = uuid.uuid4()
    store = _store(app)
    for version in versions:
        # available = version * 10: each level is told apart by its numbers too.
        await store.record(_level(product_id, version, version * 10))
    assert await store.get(product_id) == _level(product_id, newest, newest * 10)


async def test_a_product_inventory_never_spoke_for_has_no_level(app: FastAPI) -> None:
    assert await _store(app).get(uuid.uuid4()) is None


async def test_an_out_of_stock_level_is_kept_as_such(app: FastAPI) -> None:
    product_id = uuid.uuid4()
    store = _store(app)
    await store.record(_level(product_id, 4, 0))
    await store.record(_level(product_id, 2, 5))
    found = await store.get(product_id)
    assert found is not None
    assert (found.in_stock, found.available, found.version) == (False, 0, 4)
