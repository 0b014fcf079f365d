"""Cart changes and the conversion funnel (cart, checkout started, placed, paid),
counted on /metrics as a user goes through the real cart and checkout routes."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from productstore_orders.app.services.metrics import CART_CHANGES, FUNNEL_STAGES
from tests.catalog.support import Tokens
from tests.orders.support import Shop, bearer, place, wait_status
from tests.support.metrics import Scrape, scrape

pytestmark = pytest.mark.anyio


async def _put(client: httpx.AsyncClient, token: str, product: object, quantity: int) -> None:
    response = await client.put(
        f"/api/cart/items/{product}", json={"quantity": quantity}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text


async def _paid_counted(client: httpx.AsyncClient, before: Scrape) -> Scrape:
    # The status is visible once its compare-and-set is; the counter moves a moment later.
    deadline = time.monotonic() + 10
    while True:
        after = await scrape(client)
        if after.grew(before, "orders_funnel_total", stage="paid") or time.monotonic() > deadline:
            return after
        await asyncio.sleep(0.1)


async def test_every_change_and_stage_is_exported_from_the_start(
    client: httpx.AsyncClient,
) -> None:
    exported = await scrape(client)
    for change in CART_CHANGES:
        assert exported.value("orders_cart_changes_total", change=change) is not None
    for stage in FUNNEL_STAGES:
        assert exported.value("orders_funnel_total", stage=stage) is not None


async def test_a_shopper_moves_the_cart_counters_and_the_funnel(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop
) -> None:
    user = tokens.user
    kettle, mug, lamp = (
        await shop.product(price="12.00"),
        await shop.product(),
        await shop.product(),
    )
    before = await scrape(client)

    await _put(client, user, kettle, 1)  # added, and the cart begins
    await _put(client, user, kettle, 3)  # updated
    await _put(client, user, kettle, 3)  # the same quantity: no change
    await _put(client, user, mug, 1)  # added to a cart that holds something
    await _put(client, user, mug, 0)  # removed
    await _put(client, user, lamp, 0)  # not in the cart: no change
    removed = await client.delete(f"/api/cart/items/{kettle}", headers=bearer(user))
    assert removed.status_code == 200, removed.text  # removed; the cart is empty again
    await _put(client, user, kettle, 2)  # added, and a second cart begins

    placed = await place(client, user, None, key="funnel-checkout")  # from the cart
    assert placed.status_code == 202, placed.text
    replayed = await place(client, user, None, key="funnel-checkout")  # the client's retry
    assert replayed.status_code == 202 and replayed.json()["id"] == placed.json()["id"]
    await wait_status(client, user, placed.json()["id"], "paid")
    # The paid order left the cart: checking out again is refused, but it was started.
    empty = await place(client, user, None)
    assert empty.status_code == 422, empty.text
    assert (await client.delete("/api/cart", headers=bearer(user))).status_code == 204
    after = await _paid_counted(client, before)

    changes = [after.grew(before, "orders_cart_changes_total", change=c) for c in CART_CHANGES]
    assert dict(zip(CART_CHANGES, changes, strict=True)) == {
        "added": 3,
        "updated": 1,
        "removed": 2,
        "cleared": 1,
    }
    stages = [after.grew(before, "orders_funnel_total", stage=s) for s in FUNNEL_STAGES]
    assert dict(zip(FUNNEL_STAGES, stages, strict=True)) == {
        "cart": 2,
        "checkout_started": 2,
        "placed": 1,
        "paid": 1,
    }
