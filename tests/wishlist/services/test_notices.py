"""Price drops and returns to stock reach owners and followers of shared lists once:
real catalog and inventory events on the module's topics, the wishlist's consumers,
notices read back off Kafka (each checked against its published schema)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from productstore_common.kit import container_of
from productstore_contracts.events.catalog import PriceChanged
from productstore_wishlist.app.services.notices import PRICE_DROP, Notices, notice_id
from tests.orders.support import Shop
from tests.support.contracts import check_recorded
from tests.support.problems import bearer
from tests.wishlist.support import DEADLINE_SECONDS, NoticeLog

pytestmark = pytest.mark.anyio

Users = Callable[[], tuple[str, uuid.UUID]]
DROPPED = "productstore.wishlist.WishlistPriceDropped.v1"
BACK = "productstore.wishlist.WishlistBackInStock.v1"


async def _list_with(
    client: httpx.AsyncClient, token: str, *products: uuid.UUID, shared: bool = False
) -> tuple[str, str | None]:
    made = await client.post("/api/wishlists", json={"name": "Watch"}, headers=bearer(token))
    list_id: str = made.json()["id"]
    for product in products:
        put = await client.put(f"/api/wishlists/{list_id}/items/{product}", headers=bearer(token))
        assert put.status_code == 200, put.text
    if not shared:
        return list_id, None
    link = await client.post(f"/api/wishlists/{list_id}/share", headers=bearer(token))
    path: str = link.json()["path"]
    return list_id, path


async def _follow(client: httpx.AsyncClient, token: str, path: str) -> None:
    assert (await client.post(f"{path}/follow", headers=bearer(token))).status_code == 201


async def test_a_price_drop_reaches_owners_and_followers_once(
    client: httpx.AsyncClient, shop: Shop, users: Users, notice_log: NoticeLog
) -> None:
    product = await shop.product(price="100.00")
    other = await shop.product(price="5.00")
    (a, a_id), (b, b_id), (c, c_id) = users(), users(), users()
    (f1, f1_id), (f2, f2_id), (f3, _) = users(), users(), users()
    (outsider, outsider_id) = users()
    _, shared_path = await _list_with(client, a, product, shared=True)
    assert shared_path is not None
    await _follow(client, f1, shared_path)
    await _follow(client, f2, shared_path)
    # F1 also keeps the product on a list of its own: told once, as its owner.
    await _list_with(client, f1, product, other)
    await _list_with(client, b, product)
    c_list, c_path = await _list_with(client, c, product, shared=True)
    assert c_path is not None
    await _follow(client, f3, c_path)
    # A revoked link: its follower hears nothing any more.
    await client.delete(f"/api/wishlists/{c_list}/share", headers=bearer(c))
    await _list_with(client, outsider, other)

    await shop.reprice(product, "80.00")
    expected = {a_id: "owner", b_id: "owner", c_id: "owner", f1_id: "owner", f2_id: "follower"}
    await notice_log.wait_for(
        lambda _: len(notice_log.about(product)) >= len(expected), "price-drop notices"
    )
    # A second drop the same day and a rise tell nobody again.
    await shop.reprice(product, "70.00")
    await shop.reprice(product, "90.00")
    await shop.reprice(other, "4.00")
    await notice_log.wait_for(
        lambda _: len(notice_log.about(other)) >= 2, "the other product's notices"
    )
    await notice_log.settle(3.0)

    notices = notice_log.about(product)
    assert Counter(n.data.user_id for n in notices) == Counter(expected.keys())
    assert {n.data.user_id: n.data.audience for n in notices} == expected
    day = datetime.now(UTC).date()
    for notice in notices:
        assert notice.type == DROPPED
        assert notice.subject == str(notice.data.user_id)
        assert (notice.data.old_price, notice.data.new_price) == (Decimal("100.00"), Decimal("80"))
        assert notice.data.currency == "EUR"
        assert notice.id == notice_id(PRICE_DROP, product, notice.data.user_id, day)
    # The other product's drop: only the owners of the lists that hold it.
    assert {n.data.user_id for n in notice_log.about(other)} == {f1_id, outsider_id}


async def test_a_redelivered_drop_repeats_its_ids_and_another_event_tells_nobody(
    app: FastAPI, client: httpx.AsyncClient, shop: Shop, users: Users, notice_log: NoticeLog
) -> None:
    """What a consumer crash mid-fan-out leads to: the same event handled again writes
    notices with the same ids (the notifications service drops the copies); another
    event of the same day writes none."""
    product = await shop.product(price="30.00")
    owner, owner_id = users()
    await _list_with(client, owner, product)
    notices = container_of(app).get(Notices)
    drop = PriceChanged(
        product_id=product,
        version=1,
        old_price=Decimal("30.00"),
        new_price=Decimal("20.00"),
        currency="EUR",
    )
    event_id, at = uuid.uuid4(), datetime.now(UTC)
    assert await notices.price_changed(event_id, at, drop) == 1
    assert await notices.price_changed(event_id, at, drop) == 1
    assert await notices.price_changed(uuid.uuid4(), at, drop) == 0
    await notice_log.wait_for(lambda _: len(notice_log.about(product)) >= 2, "both copies")
    await notice_log.settle(1.0)
    copies = notice_log.about(product)
    assert len(copies) == 2
    assert {n.id for n in copies} == {notice_id(PRICE_DROP, product, owner_id, at.date())}
    # A change of currency is no drop, whatever the numbers.
    moved = drop.model_copy(update={"old_currency": "USD"})
    assert await notices.price_changed(uuid.uuid4(), at, moved) == 0


@pytest.fixture(scope="module")
def overrides() -> dict[str, object]:
    # Waves 4 s apart: longer than a stock event takes to arrive here, so a wave is
    # sized by the stock of its time, as with the default quarter of an hour.
    return {"restock_wave_interval_seconds": 4.0}


async def _wait_available(app: FastAPI, product: uuid.UUID, available: int) -> None:
    store = container_of(app).get(Notices).store
    deadline = time.monotonic() + DEADLINE_SECONDS
    while (wave := await store.wave(product)) is None or wave.available != available:
        assert time.monotonic() < deadline, f"the waves never saw {available} available: {wave}"
        await asyncio.sleep(0.2)


async def test_back_in_stock_goes_out_in_waves_no_larger_than_the_stock(
    app: FastAPI, client: httpx.AsyncClient, shop: Shop, users: Users, notice_log: NoticeLog
) -> None:
    product = await shop.product(stock=0)
    watchers = [users() for _ in range(3)]
    for token, _ in watchers:
        await _list_with(client, token, product)

    # One unit back: one user is told (wave 1) ...
    await shop.set_stock(product, 1)
    await notice_log.wait_for(lambda _: len(notice_log.about(product)) >= 1, "wave 1")
    # ... and while the stock is 0 again no wave goes, however long it waits.
    await shop.set_stock(product, 0)
    await _wait_available(app, product, 0)
    await notice_log.settle(5.0)
    first = notice_log.about(product)
    assert [(n.data.wave, n.data.available) for n in first] == [(1, 1)]

    # Five units: the two not yet told hear in the next wave, nobody twice.
    await shop.set_stock(product, 5)
    await notice_log.wait_for(lambda _: len(notice_log.about(product)) >= 3, "wave 2")
    await notice_log.settle(3.0)
    notices = notice_log.about(product)
    assert Counter(n.data.user_id for n in notices) == Counter(uid for _, uid in watchers)
    assert all(n.type == BACK and n.data.audience == "owner" for n in notices)
    waves = Counter(n.data.wave for n in notices)
    assert waves == {1: 1, 2: 2}
    assert all(n.data.available >= waves[n.data.wave] for n in notices)


async def test_the_notices_are_the_recorded_contract_examples(notice_log: NoticeLog) -> None:
    check_recorded(notice_log.raw, [DROPPED, BACK])
