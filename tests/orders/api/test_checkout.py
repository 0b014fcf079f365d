"""Checkout's answers: idempotent under its key, 409 for the key with another body,
problems for a missing key and bad input, the cart as the default lines (emptied once
the order is reserved)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.catalog.support import Tokens
from tests.orders.support import (
    Shop,
    assert_problem,
    bearer,
    checkout_body,
    place,
    wait_status,
)

pytestmark = pytest.mark.anyio


async def test_the_same_key_and_body_make_one_order(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop
) -> None:
    product = await shop.product(stock=5)
    key = uuid.uuid4().hex
    first = await place(client, tokens.user, [(product, 2)], key=key)
    again = await place(client, tokens.user, [(product, 2)], key=key)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    await wait_status(client, tokens.user, first.json()["id"], "paid")
    # Once paid, the retry still answers the same order, as it is now.
    late = await place(client, tokens.user, [(product, 2)], key=key)
    assert (late.json()["id"], late.json()["status"]) == (first.json()["id"], "paid")
    # One order's worth of stock was sold, not three.
    await shop.wait_stock(product, on_hand=3, reserved=0)

    # The same key from another user is another checkout.
    other = await place(client, tokens.admin, [(product, 1)], key=key)
    assert other.status_code == 202
    assert other.json()["id"] != first.json()["id"]


async def test_concurrent_retries_of_one_key_make_one_order(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop
) -> None:
    product = await shop.product(stock=10)
    key = uuid.uuid4().hex
    answers = await asyncio.gather(
        *(place(client, tokens.user, [(product, 3)], key=key) for _ in range(8))
    )
    assert [a.status_code for a in answers] == [202] * 8
    assert len({a.json()["id"] for a in answers}) == 1
    await wait_status(client, tokens.user, answers[0].json()["id"], "paid")
    # Three units sold, once.
    await shop.wait_stock(product, on_hand=7, reserved=0)


async def test_the_same_key_with_another_body_is_409(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop
) -> None:
    product = await shop.product(stock=5)
    key = uuid.uuid4().hex
    assert (await place(client, tokens.user, [(product, 1)], key=key)).status_code == 202
    reused = await place(client, tokens.user, [(product, 2)], key=key)
    problem = assert_problem(reused, 409, "idempotency_key_reused")
    assert "Idempotency-Key" in problem["detail"]


async def test_a_checkout_without_a_key_or_with_bad_input_is_a_problem(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop
) -> None:
    product = await shop.product(stock=5)
    body = checkout_body([(product, 1)])
    missing = await client.post("/api/orders", json=body, headers=bearer(tokens.user))
    problem = assert_problem(missing, 422)
    assert problem["errors"][0]["loc"][-1] == "Idempotency-Key"

    headers = {**bearer(tokens.user), "Idempotency-Key": uuid.uuid4().hex}
    cases = [
        ({**body, "lines": []}, "#/lines"),
        ({**body, "lines": [{"product_id": str(product), "quantity": 0}]}, "#/lines/0/quantity"),
        (
            {**body, "shipping_address": {**body["shipping_address"], "country": "gb"}},
            "#/shipping_address/country",
        ),
        ({k: v for k, v in body.items() if k != "payment_token"}, "#/payment_token"),
        ({**body, "coupon": "FREE"}, "#/coupon"),
    ]
    for bad, pointer in cases:
        answer = await client.post("/api/orders", json=bad, headers=headers)
        problem = assert_problem(answer, 422)
        assert pointer in [error.get("pointer") for error in problem["errors"]], problem

    unknown = uuid.uuid4()
    answer = await client.post(
        "/api/orders", json=checkout_body([(product, 1), (unknown, 1)]), headers=headers
    )
    problem = assert_problem(answer, 422, "unknown_products")
    assert problem["product_ids"] == [str(unknown)]
    # A refused checkout leaves its key free: the corrected body under it is accepted.
    fixed = await client.post("/api/orders", json=body, headers=headers)
    assert fixed.status_code == 202, fixed.text
    assert_problem(
        await client.post("/api/orders", json=body, headers={"Idempotency-Key": "k"}), 401
    )


async def test_checkout_of_the_cart_empties_it_once_reserved(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop
) -> None:
    await client.delete("/api/cart", headers=bearer(tokens.user))
    empty = await place(client, tokens.user, None)
    assert_problem(empty, 422, "empty_order")

    first = await shop.product(price="3.00", stock=5)
    second = await shop.product(price="7.00", stock=5)
    for product, quantity in ((first, 2), (second, 1)):
        await client.put(
            f"/api/cart/items/{product}", json={"quantity": quantity}, headers=bearer(tokens.user)
        )
    placed = await place(client, tokens.user, None)
    assert placed.status_code == 202, placed.text
    assert placed.json()["total"] in ("13.00", "13")
    await wait_status(client, tokens.user, placed.json()["id"], "paid")
    cart = (await client.get("/api/cart", headers=bearer(tokens.user))).json()
    assert cart["items"] == []
    await shop.wait_stock(first, on_hand=3, reserved=0)
