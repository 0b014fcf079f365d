"""The search API's wiring: filters, sorts, the cursor walk, facets, errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.catalog.support import Tokens, assert_problem, bearer, create_category, create_product

pytestmark = pytest.mark.anyio

SEARCH = "/api/products/search"


@pytest.fixture(scope="module")
async def shop(client: httpx.AsyncClient, tokens: Tokens) -> dict[str, Any]:
    """Two categories of their own (searches filter by them to keep other tests out)."""
    shoes = await create_category(client, tokens.admin)
    hats = await create_category(client, tokens.admin)
    products = [
        await create_product(client, tokens.admin, shoes, name="Trail running shoe", price="89.90"),
        await create_product(client, tokens.admin, shoes, name="Road running shoe", price="120.00"),
        await create_product(
            client,
            tokens.admin,
            shoes,
            name="Leather boot",
            description="Warm winter boot",
            price="150.00",
            in_stock=False,
        ),
        await create_product(client, tokens.admin, shoes, name="Sandal", price="25.00"),
        await create_product(client, tokens.admin, hats, name="Running cap", price="15.00"),
    ]
    return {"shoes": shoes, "hats": hats, "products": products}


async def _search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get(SEARCH, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_text_search_returns_full_products_with_scores(
    client: httpx.AsyncClient, shop: dict[str, Any]
) -> None:
    body = await _search(client, q="running", category=shop["shoes"])
    names = {item["name"] for item in body["items"]}
    assert names == {"Trail running shoe", "Road running shoe"}
    assert body["total"] == 2
    for item in body["items"]:
        assert item["score"] > 0
        assert {"price", "currency", "rating", "attributes", "image_urls"} <= set(item)


async def test_items_are_the_products_as_read_by_id(
    client: httpx.AsyncClient, tokens: Tokens, shop: dict[str, Any]
) -> None:
    """Search pages are built from the replica's documents: each item is the body of
    GET /api/products/{id} plus its score, also right after a write."""
    product = shop["products"][0]
    await client.patch(
        f"/api/products/{product['id']}",
        json={"description": "Grippy sole", "attributes": {"drop": "8 mm"}},
        headers=bearer(tokens.admin),
    )
    body = await _search(client, category=shop["shoes"], sort_by="price_asc")
    assert len(body["items"]) == 4
    for item in body["items"]:
        read = await client.get(f"/api/products/{item['id']}")
        assert {**read.json(), "score": None} == item
    assert body["items"][1]["attributes"] == {"drop": "8 mm"}


async def test_filters_narrow_results(client: httpx.AsyncClient, shop: dict[str, Any]) -> None:
    cheap = await _search(client, category=shop["shoes"], max_price="100")
    assert {item["name"] for item in cheap["items"]} == {"Trail running shoe", "Sandal"}
    ranged = await _search(client, category=shop["shoes"], min_price="100", max_price="150")
    assert {item["name"] for item in ranged["items"]} == {"Road running shoe", "Leather boot"}
    available = await _search(client, category=shop["shoes"], in_stock="false")
    assert [item["name"] for item in available["items"]] == ["Leather boot"]
    # Nothing is rated yet, and unrated products never pass a rating filter.
    rated = await _search(client, category=shop["shoes"], min_rating=1)
    assert rated["items"] == []
    assert rated["total"] == 0


async def test_sort_orders(client: httpx.AsyncClient, shop: dict[str, Any]) -> None:
    ascending = await _search(client, category=shop["shoes"], sort_by="price_asc")
    prices = [Decimal(item["price"]) for item in ascending["items"]]
    assert prices == sorted(prices)
    descending = await _search(client, category=shop["shoes"], sort_by="price_desc")
    assert [Decimal(item["price"]) for item in descending["items"]] == sorted(prices, reverse=True)
    by_name = await _search(client, category=shop["shoes"], sort_by="name")
    names = [item["name"] for item in by_name["items"]]
    assert names == sorted(names, key=str.casefold)
    newest = await _search(client, category=shop["shoes"], sort_by="newest")
    assert newest["items"][0]["name"] == "Sandal"  # created last


async def test_cursor_walk_visits_every_match_once(
    client: httpx.AsyncClient, shop: dict[str, Any]
) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"category": shop["shoes"], "sort_by": "price_asc", "limit": 1}
    for _ in range(10):  # bounded: 4 matches in pages of 1
        body = await _search(client, **params)
        assert body["total"] == 4
        seen += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    expected = {p["id"] for p in shop["products"] if p["category"] == shop["shoes"]}
    assert len(seen) == len(set(seen)) == 4
    assert set(seen) == expected


async def test_facets_count_all_matches(client: httpx.AsyncClient, shop: dict[str, Any]) -> None:
    body = await _search(client, q="running", limit=1)
    facets = body["facets"]
    # Other modules' products may match "running" too: check ours are counted.
    assert facets["categories"][shop["shoes"]] == 2
    assert facets["categories"][shop["hats"]] == 1
    assert sum(bucket["count"] for bucket in facets["price"]) == body["total"]
    assert sum(facets["in_stock"].values()) == body["total"]
    assert len(body["items"]) == 1


async def test_own_writes_are_searchable_at_once(
    client: httpx.AsyncClient, tokens: Tokens, shop: dict[str, Any]
) -> None:
    product = await create_product(
        client, tokens.admin, shop["hats"], name="Felt fedora", price="40.00"
    )
    found = await _search(client, q="fedora", category=shop["hats"])
    assert [item["id"] for item in found["items"]] == [product["id"]]

    await client.patch(
        f"/api/products/{product['id']}", json={"name": "Straw hat"}, headers=bearer(tokens.admin)
    )
    assert (await _search(client, q="fedora", category=shop["hats"]))["items"] == []
    await client.delete(f"/api/products/{product['id']}", headers=bearer(tokens.admin))
    assert (await _search(client, q="straw", category=shop["hats"]))["items"] == []


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({"cursor": "not-a-cursor"}, 400, "invalid_cursor"),
        ({"min_price": "50", "max_price": "10"}, 400, "invalid_query"),
        ({"limit": 0}, 422, None),
        ({"limit": 101}, 422, None),
        ({"sort_by": "cheapest"}, 422, None),
        ({"min_rating": 6}, 422, None),
        ({"min_price": "-1"}, 422, None),
        ({"min_price": "1.234"}, 422, None),
        ({"category": "Not A Slug"}, 422, None),
        ({"q": "x" * 201}, 422, None),
    ],
)
async def test_bad_parameters(
    client: httpx.AsyncClient, params: dict[str, Any], status: int, reason: str | None
) -> None:
    assert_problem(await client.get(SEARCH, params=params), status, reason)


async def test_a_cursor_is_bound_to_its_query(
    client: httpx.AsyncClient, shop: dict[str, Any]
) -> None:
    first = await _search(client, category=shop["shoes"], limit=1)
    other = await client.get(
        SEARCH, params={"category": shop["hats"], "limit": 1, "cursor": first["next_cursor"]}
    )
    assert_problem(other, 400, "invalid_cursor")


def _page_lookups(app: FastAPI, outcome: str) -> float:
    value = app.state.metrics.registry.get_sample_value(
        "catalog_search_page_cache_lookups_total", {"outcome": outcome}
    )
    return value or 0.0


async def test_a_repeated_search_is_served_from_the_page_cache_until_a_write(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens, shop: dict[str, Any]
) -> None:
    params = {"q": "running", "category": shop["shoes"], "sort_by": "price_asc"}
    first = await client.get(SEARCH, params=params)
    hits = _page_lookups(app, "hit")
    again = await client.get(SEARCH, params=params)
    assert again.content == first.content
    assert _page_lookups(app, "hit") == hits + 1

    # Prices spelled differently are another page (a cursor binds the spelling).
    spelled = await client.get(SEARCH, params={**params, "min_price": "1.0"})
    assert _page_lookups(app, "hit") == hits + 1
    assert spelled.json()["items"] == first.json()["items"]

    cheapest = first.json()["items"][0]
    patched = await client.patch(
        f"/api/products/{cheapest['id']}", json={"price": "9.99"}, headers=bearer(tokens.admin)
    )
    assert patched.status_code == 200
    misses = _page_lookups(app, "miss")
    after = (await _search(client, **params))["items"]
    assert _page_lookups(app, "miss") == misses + 1
    assert after[0]["id"] == cheapest["id"]
    assert after[0]["price"] == "9.99"
    await client.patch(
        f"/api/products/{cheapest['id']}",
        json={"price": cheapest["price"]},
        headers=bearer(tokens.admin),
    )
