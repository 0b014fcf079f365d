"""The cart over HTTP against a real catalog and inventory: prices read at read time,
what changed since an item was added, unknown products, removal, and who may use it."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.catalog.support import Tokens
from tests.orders.support import Shop, assert_problem, bearer, money

pytestmark = pytest.mark.anyio


async def _put(
    client: httpx.AsyncClient, token: str, product: uuid.UUID, quantity: int
) -> httpx.Response:
    return await client.put(
        f"/api/cart/items/{product}", json={"quantity": quantity}, headers=bearer(token)
    )


async def test_a_cart_prices_items_now_and_says_what_changed(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop
) -> None:
    await client.delete("/api/cart", headers=bearer(tokens.user))
    cheap = await shop.product(price="4.50", stock=10)
    scarce = await shop.product(price="20.00", stock=3)

    added = await _put(client, tokens.user, cheap, 2)
    assert added.status_code == 200, added.text
    added = await _put(client, tokens.user, scarce, 3)
    cart = added.json()
    assert {item["product_id"] for item in cart["items"]} == {str(cheap), str(scarce)}
    assert money(cart["total"]) == money("69.00")
    assert cart["currency"] == "EUR"
    assert cart["notices"] == []

    # The catalog raises a price and inventory sells what the cart wanted.
    await shop.reprice(cheap, "5.00")
    await shop.set_stock(scarce, 1)

    cart = (await client.get("/api/cart", headers=bearer(tokens.user))).json()
    items = {item["product_id"]: item for item in cart["items"]}
    assert items[str(cheap)]["price_changed"] is True
    assert money(items[str(cheap)]["price_when_added"]) == money("4.50")
    assert money(items[str(cheap)]["unit_price"]) == money("5.00")
    assert items[str(scarce)]["out_of_stock_since_added"] is True
    assert items[str(scarce)]["in_stock"] is False
    assert items[str(scarce)]["available"] == 1
    assert money(cart["total"]) == money("70.00")
    assert len(cart["notices"]) == 2
    assert any("changed from 4.50 EUR to 5.00 EUR" in notice for notice in cart["notices"])

    # Changing the quantity keeps what the user first saw.
    again = (await _put(client, tokens.user, cheap, 5)).json()
    changed = next(item for item in again["items"] if item["product_id"] == str(cheap))
    assert (changed["quantity"], changed["price_changed"]) == (5, True)


async def test_zero_and_delete_remove_items_and_clear_empties(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop
) -> None:
    await client.delete("/api/cart", headers=bearer(tokens.user))
    first = await shop.product()
    second = await shop.product()
    await _put(client, tokens.user, first, 1)
    await _put(client, tokens.user, second, 1)

    after_zero = (await _put(client, tokens.user, first, 0)).json()
    assert [item["product_id"] for item in after_zero["items"]] == [str(second)]

    removed = await client.delete(f"/api/cart/items/{second}", headers=bearer(tokens.user))
    assert removed.status_code == 200
    assert removed.json()["items"] == []
    assert_problem(
        await client.delete(f"/api/cart/items/{second}", headers=bearer(tokens.user)),
        404,
        "cart_item_not_found",
    )

    await _put(client, tokens.user, first, 2)
    cleared = await client.delete("/api/cart", headers=bearer(tokens.user))
    assert cleared.status_code == 204
    assert (await client.get("/api/cart", headers=bearer(tokens.user))).json()["items"] == []


async def test_unknown_products_and_bad_quantities_are_refused(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    missing = uuid.uuid4()
    body = assert_problem(await _put(client, tokens.user, missing, 1), 404, "product_not_found")
    assert str(missing) in body["detail"]
    for quantity in (-1, 1001, "two", True, 1.5):
        response = await client.put(
            f"/api/cart/items/{uuid.uuid4()}",
            json={"quantity": quantity},
            headers=bearer(tokens.user),
        )
        problem = assert_problem(response, 422)
        assert problem["errors"][0]["pointer"] == "#/quantity"
    assert_problem(
        await client.put(
            "/api/cart/items/not-a-uuid", json={"quantity": 1}, headers=bearer(tokens.user)
        ),
        422,
    )


async def test_a_cart_is_its_users_alone(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop
) -> None:
    assert_problem(await client.get("/api/cart"), 401)
    product = await shop.product()
    await client.delete("/api/cart", headers=bearer(tokens.user))
    await _put(client, tokens.admin, product, 1)
    mine = (await client.get("/api/cart", headers=bearer(tokens.user))).json()
    assert all(item["product_id"] != str(product) for item in mine["items"])
    await client.delete("/api/cart", headers=bearer(tokens.admin))
