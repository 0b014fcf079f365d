"""Products through the HTTP API: CRUD, the validation table, listing pages, ETags."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from productstore_catalog.app.data.stock import StockRecord
from productstore_catalog.app.services.catalog import Catalog
from productstore_common.kit import container_of
from tests.catalog.support import (
    Tokens,
    assert_problem,
    bearer,
    create_category,
    create_product,
    product_body,
    unique_slug,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def category(client: httpx.AsyncClient, tokens: Tokens) -> str:
    return await create_category(client, tokens.admin)


async def test_create_read_patch_delete(
    client: httpx.AsyncClient, tokens: Tokens, category: str
) -> None:
    created = await client.post(
        "/api/products", json=product_body(category), headers=bearer(tokens.admin)
    )
    assert created.status_code == 201, created.text
    product = created.json()
    assert created.headers["location"] == f"/api/products/{product['id']}"
    assert created.headers["etag"] == f'"{product["version"]}"'
    assert product["price"] == "89.90"
    assert product["rating"] == {"average": None, "count": 0}

    got = await client.get(f"/api/products/{product['id']}")
    assert got.status_code == 200
    assert got.json() == product

    patched = await client.patch(
        f"/api/products/{product['id']}",
        json={"price": 79.5, "attributes": {"colour": "red", "size": "42"}},
        headers=bearer(tokens.admin),
    )
    assert patched.status_code == 200, patched.text
    after = patched.json()
    assert after["price"] == "79.5"
    assert after["attributes"] == {"colour": "red", "size": "42"}
    assert after["name"] == product["name"]  # left out: unchanged
    assert after["version"] > product["version"]
    assert after["created_at"] == product["created_at"]

    deleted = await client.delete(f"/api/products/{product['id']}", headers=bearer(tokens.admin))
    assert deleted.status_code == 204
    assert_problem(await client.get(f"/api/products/{product['id']}"), 404, "product_not_found")


async def test_a_patch_that_changes_nothing_keeps_the_version(
    client: httpx.AsyncClient, tokens: Tokens, category: str
) -> None:
    product = await create_product(client, tokens.admin, category)
    same = await client.patch(
        f"/api/products/{product['id']}",
        json={"name": product["name"], "price": product["price"]},
        headers=bearer(tokens.admin),
    )
    assert same.status_code == 200
    assert same.json()["version"] == product["version"]


async def test_in_stock_is_the_admins_until_inventory_has_a_level(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens, category: str
) -> None:
    product = await create_product(client, tokens.admin, category, in_stock=False)
    url = f"/api/products/{product['id']}"
    admin = bearer(tokens.admin)
    # No inventory record: the admin's value, changed by hand.
    response = await client.patch(url, json={"in_stock": True}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["in_stock"] is True

    # Inventory publishes a level (as StockChanged would); from then on it decides.
    level = StockRecord(product_id=uuid.UUID(product["id"]), in_stock=False, available=0, version=1)
    await container_of(app).get(Catalog).record_stock(level)
    current = (await client.get(url)).json()
    assert current["in_stock"] is False
    refused = await client.patch(url, json={"in_stock": True, "name": "Back"}, headers=admin)
    problem = assert_problem(refused, 409, "in_stock_from_inventory")
    assert f"/api/inventory/{product['id']}" in problem["detail"]
    assert (await client.get(url)).json() == current  # nothing of the PATCH was written

    # Other fields stay the admin's, and restating inventory's value is no change.
    renamed = await client.patch(url, json={"in_stock": False, "name": "Renamed"}, headers=admin)
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["in_stock"]) == ("Renamed", False)


async def test_moving_a_product_to_another_category(
    client: httpx.AsyncClient, tokens: Tokens, category: str
) -> None:
    other = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, category)
    moved = await client.patch(
        f"/api/products/{product['id']}", json={"category": other}, headers=bearer(tokens.admin)
    )
    assert moved.status_code == 200, moved.text
    in_other = await client.get("/api/products", params={"category": other})
    assert [item["id"] for item in in_other.json()["items"]] == [product["id"]]
    in_old = await client.get("/api/products", params={"category": category, "limit": 100})
    assert product["id"] not in [item["id"] for item in in_old.json()["items"]]
    # The old category is empty of it: deleting the new one is refused, not the old.
    refused = await client.delete(f"/api/categories/{other}", headers=bearer(tokens.admin))
    assert_problem(refused, 409, "category_in_use")


# (overrides of a valid body, JSON pointer of the member the problem names, reason/type)
INVALID: list[tuple[dict[str, Any], str]] = [
    ({"price": 0}, "#/price"),
    ({"price": -1}, "#/price"),
    ({"price": "12.345"}, "#/price"),
    ({"price": "abc"}, "#/price"),
    ({"price": "1e15"}, "#/price"),
    ({"currency": "eur"}, "#/currency"),
    ({"currency": "EURO"}, "#/currency"),
    ({"currency": "ABC"}, "#/currency"),
    ({"currency": "XAU"}, "#/currency"),
    ({"currency": "JPY", "price": "100.50"}, "#/currency"),
    ({"name": ""}, "#/name"),
    ({"name": "n" * 201}, "#/name"),
    ({"description": "d" * 5001}, "#/description"),
    ({"category": "Not A Slug"}, "#/category"),
    ({"attributes": {f"k{i}": "v" for i in range(51)}}, "#/attributes"),
    ({"attributes": {"k" * 65: "v"}}, "#/attributes/" + "k" * 65 + "/[key]"),
    ({"attributes": {"k": "v" * 257}}, "#/attributes/k"),
    ({"attributes": {"k": 3}}, "#/attributes/k"),
    ({"image_urls": ["ftp://img.example.com/a.jpg"]}, "#/image_urls/0"),
    ({"image_urls": ["not a url"]}, "#/image_urls/0"),
    ({"image_urls": ["https://img.example.com/a.jpg"] * 11}, "#/image_urls"),
    ({"rating": {"average": 5, "count": 1}}, "#/rating"),
    ({"in_stock": "perhaps"}, "#/in_stock"),
    # Free text refuses control and bidi characters (productstore_common.text).
    ({"name": "Trail\x00runner"}, "#/name"),
    ({"name": "Trail\u202erunner"}, "#/name"),
    ({"name": "Trail\nrunner"}, "#/name"),
    ({"name": "Trail\x85runner"}, "#/name"),
    ({"description": "Light\x1b[2J shoe"}, "#/description"),
    ({"description": "Light \u2066shoe\u2069"}, "#/description"),
    ({"attributes": {"colour\x00": "blue"}}, "#/attributes/colour\x00/[key]"),
    ({"attributes": {"colour": "bl\u200fue"}}, "#/attributes/colour"),
]


@pytest.mark.parametrize(("overrides", "pointer"), INVALID)
async def test_invalid_products_are_422_naming_the_member(
    client: httpx.AsyncClient,
    tokens: Tokens,
    category: str,
    overrides: dict[str, Any],
    pointer: str,
) -> None:
    response = await client.post(
        "/api/products", json=product_body(category, **overrides), headers=bearer(tokens.admin)
    )
    problem = assert_problem(response, 422)
    pointers = [error["pointer"] for error in problem["errors"]]
    assert pointer in pointers, problem
    assert all(error["message"] for error in problem["errors"])


async def test_unsafe_text_is_refused_by_name_and_prose_keeps_its_lines(
    client: httpx.AsyncClient, tokens: Tokens, category: str
) -> None:
    refused = await client.post(
        "/api/products",
        json=product_body(category, name="Boots \u202egnp.exe"),
        headers=bearer(tokens.admin),
    )
    (error,) = assert_problem(refused, 422)["errors"]
    assert error["type"] == "unsafe_text"
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in error["message"]
    assert "position 7" in error["message"]
    # Right-to-left text needs no bidi controls; descriptions keep tabs and line breaks.
    product = await create_product(
        client,
        tokens.admin,
        category,
        name="  حذاء الجري  ",
        description="Line one\r\n\tLine two",
    )
    assert product["name"] == "حذاء الجري"
    assert product["description"] == "Line one\n\tLine two"


async def test_unknown_currency_detail_names_the_code(
    client: httpx.AsyncClient, tokens: Tokens, category: str
) -> None:
    response = await client.post(
        "/api/products", json=product_body(category, currency="ABC"), headers=bearer(tokens.admin)
    )
    problem = assert_problem(response, 422)
    assert "'ABC' is not an ISO 4217 currency code" in problem["errors"][0]["message"]


async def test_unknown_category_is_422(client: httpx.AsyncClient, tokens: Tokens) -> None:
    missing = unique_slug("missing")
    response = await client.post(
        "/api/products", json=product_body(missing), headers=bearer(tokens.admin)
    )
    problem = assert_problem(response, 422, "unknown_category")
    assert missing in problem["detail"]
    assert problem["errors"][0]["pointer"] == "#/category"


async def test_patch_validation(client: httpx.AsyncClient, tokens: Tokens, category: str) -> None:
    product = await create_product(client, tokens.admin, category, price="10.50")
    url = f"/api/products/{product['id']}"
    bad_price = await client.patch(url, json={"price": "0"}, headers=bearer(tokens.admin))
    assert_problem(bad_price, 422)
    to_missing = await client.patch(
        url, json={"category": unique_slug("missing")}, headers=bearer(tokens.admin)
    )
    assert_problem(to_missing, 422, "unknown_category")
    # 10.50 cannot become yen without a whole-number price.
    to_yen = await client.patch(url, json={"currency": "JPY"}, headers=bearer(tokens.admin))
    assert_problem(to_yen, 422, "currency_minor_units")
    both = await client.patch(
        url, json={"currency": "JPY", "price": 1500}, headers=bearer(tokens.admin)
    )
    assert both.status_code == 200, both.text


# (the product's currency and price, the PATCH body or None for the create itself,
# whether the write is accepted): the whole-number rule on every write path.
PRICE_RULES: list[tuple[tuple[str, str], dict[str, Any] | None, bool]] = [
    (("JPY", "12.34"), None, False),
    (("JPY", "1500"), None, True),
    (("EUR", "12.34"), None, True),
    (("JPY", "1500"), {"price": "12.34"}, False),
    (("JPY", "1500"), {"price": "1200.00"}, True),
    (("EUR", "10.50"), {"currency": "JPY"}, False),
    (("EUR", "10.00"), {"currency": "JPY"}, True),
    (("EUR", "10.50"), {"currency": "JPY", "price": "12.34"}, False),
    (("EUR", "10.50"), {"currency": "JPY", "price": "1500"}, True),
    (("JPY", "1500"), {"currency": "EUR", "price": "12.34"}, True),
    (("JPY", "1500"), {"currency": "EUR"}, True),
    (("JPY", "1500"), {"name": "Renamed"}, True),
]


@pytest.mark.parametrize("case", PRICE_RULES)
async def test_zero_decimal_currencies_take_whole_prices_on_every_write(
    client: httpx.AsyncClient,
    tokens: Tokens,
    category: str,
    case: tuple[tuple[str, str], dict[str, Any] | None, bool],
) -> None:
    (currency, price), patch, accepted = case
    body = product_body(category, currency=currency, price=price)
    created = await client.post("/api/products", json=body, headers=bearer(tokens.admin))
    if patch is None:
        if accepted:
            assert created.status_code == 201, created.text
        else:
            assert_problem(created, 422)
        return
    assert created.status_code == 201, created.text
    url = f"/api/products/{created.json()['id']}"
    response = await client.patch(url, json=patch, headers=bearer(tokens.admin))
    if accepted:
        assert response.status_code == 200, response.text
        return
    problem = assert_problem(response, 422, "currency_minor_units")
    assert [error["pointer"] for error in problem["errors"]] == ["#/price"]
    unchanged = (await client.get(url)).json()
    assert (unchanged["currency"], unchanged["price"]) == (currency, price)


async def test_missing_products_are_404(client: httpx.AsyncClient, tokens: Tokens) -> None:
    url = f"/api/products/{uuid.uuid4()}"
    assert_problem(await client.get(url), 404, "product_not_found")
    patch = await client.patch(url, json={"name": "x"}, headers=bearer(tokens.admin))
    assert_problem(patch, 404, "product_not_found")
    assert_problem(await client.delete(url, headers=bearer(tokens.admin)), 404)
    assert_problem(await client.get("/api/products/not-a-uuid"), 422)


async def test_if_match(client: httpx.AsyncClient, tokens: Tokens, category: str) -> None:
    product = await create_product(client, tokens.admin, category)
    url = f"/api/products/{product['id']}"
    stale = '"1"'
    refused = await client.patch(
        url, json={"name": "New"}, headers={**bearer(tokens.admin), "If-Match": stale}
    )
    assert_problem(refused, 412, "version_mismatch")
    current = (await client.get(url)).headers["etag"]
    accepted = await client.patch(
        url, json={"name": "New"}, headers={**bearer(tokens.admin), "If-Match": current}
    )
    assert accepted.status_code == 200, accepted.text
    garbage = await client.delete(url, headers={**bearer(tokens.admin), "If-Match": "abc"})
    assert_problem(garbage, 400, "invalid_query")
    old = await client.delete(url, headers={**bearer(tokens.admin), "If-Match": current})
    assert_problem(old, 412, "version_mismatch")


@pytest.mark.parametrize(
    "value",
    [
        b'"\xb2"',  # "²" in Latin-1, as servers decode header bytes: str.isdigit() says yes
        b'W/"1\xb9"',  # "1¹"
        b'"\xd9\xa1"',  # Arabic-Indic one, in UTF-8
        b'"12a"',
        b'""',
        b'"-1"',
    ],
)
async def test_if_match_accepts_only_ascii_digits(
    client: httpx.AsyncClient, tokens: Tokens, category: str, value: bytes
) -> None:
    product = await create_product(client, tokens.admin, category)
    url = f"/api/products/{product['id']}"
    # Raw bytes, as a client may send them (str headers would be encoded first).
    headers = [(b"Authorization", f"Bearer {tokens.admin}".encode()), (b"If-Match", value)]
    response = await client.patch(url, json={"name": "New"}, headers=headers)
    assert_problem(response, 400, "invalid_query")
    assert (await client.get(url)).json()["name"] == product["name"]


async def test_listing_walks_a_category_with_the_cursor(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    slug = await create_category(client, tokens.admin)
    ids = {(await create_product(client, tokens.admin, slug))["id"] for _ in range(5)}
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):  # bounded: 5 products in pages of 2 take 3 pages
        params: dict[str, Any] = {"category": slug, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/products", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))


async def test_listing_everything_pages_without_repeats(
    client: httpx.AsyncClient, tokens: Tokens, category: str
) -> None:
    await create_product(client, tokens.admin, category)
    first = (await client.get("/api/products", params={"limit": 1})).json()
    assert len(first["items"]) == 1
    assert first["next_cursor"]
    second = (
        await client.get("/api/products", params={"limit": 1, "cursor": first["next_cursor"]})
    ).json()
    assert second["items"][0]["id"] != first["items"][0]["id"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"cursor": "garbage!"}, 400),
        ({"cursor": "eyJhZnRlciI6IDF9"}, 400),  # {"after": 1}
        ({"limit": 0}, 422),
        ({"limit": 101}, 422),
        ({"category": "Bad Slug"}, 422),
    ],
)
async def test_bad_listing_parameters(
    client: httpx.AsyncClient, params: dict[str, Any], status: int
) -> None:
    assert_problem(await client.get("/api/products", params=params), status)


async def test_a_cursor_of_another_category_is_refused(
    client: httpx.AsyncClient, tokens: Tokens, category: str
) -> None:
    for _ in range(2):
        await create_product(client, tokens.admin, category)
    page = (await client.get("/api/products", params={"category": category, "limit": 1})).json()
    other = await client.get(
        "/api/products", params={"category": unique_slug(), "cursor": page["next_cursor"]}
    )
    assert_problem(other, 400, "invalid_cursor")
