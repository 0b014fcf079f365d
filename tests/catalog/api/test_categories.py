"""Categories through the HTTP API: CRUD, validation, and the delete of a used category."""

from __future__ import annotations

import httpx
import pytest

from tests.catalog.support import (
    Tokens,
    assert_problem,
    bearer,
    create_category,
    create_product,
    unique_slug,
)

pytestmark = pytest.mark.anyio


async def test_create_read_update_delete(client: httpx.AsyncClient, tokens: Tokens) -> None:
    slug = unique_slug("shoes")
    created = await client.post(
        "/api/categories",
        json={"slug": slug, "name": "  Shoes  ", "description": "Things for feet"},
        headers=bearer(tokens.admin),
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/api/categories/{slug}"
    assert created.json()["name"] == "Shoes"  # stripped

    got = await client.get(f"/api/categories/{slug}")
    assert got.status_code == 200
    assert got.json()["description"] == "Things for feet"
    listed = await client.get("/api/categories")
    assert slug in [item["slug"] for item in listed.json()["items"]]

    patched = await client.patch(
        f"/api/categories/{slug}", json={"name": "Footwear"}, headers=bearer(tokens.admin)
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Footwear"
    assert patched.json()["description"] == "Things for feet"  # left out: unchanged

    deleted = await client.delete(f"/api/categories/{slug}", headers=bearer(tokens.admin))
    assert deleted.status_code == 204
    assert_problem(await client.get(f"/api/categories/{slug}"), 404, "category_not_found")


async def test_duplicate_slug_is_a_conflict(client: httpx.AsyncClient, tokens: Tokens) -> None:
    slug = await create_category(client, tokens.admin)
    again = await client.post(
        "/api/categories", json={"slug": slug, "name": "Other"}, headers=bearer(tokens.admin)
    )
    body = assert_problem(again, 409, "category_exists")
    assert slug in body["detail"]


async def test_a_category_with_products_cannot_be_deleted(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug)
    refused = await client.delete(f"/api/categories/{slug}", headers=bearer(tokens.admin))
    assert_problem(refused, 409, "category_in_use")

    await client.delete(f"/api/products/{product['id']}", headers=bearer(tokens.admin))
    deleted = await client.delete(f"/api/categories/{slug}", headers=bearer(tokens.admin))
    assert deleted.status_code == 204


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"slug": "Upper-Case", "name": "x"}, "#/slug"),
        ({"slug": "double--hyphen", "name": "x"}, "#/slug"),
        ({"slug": "a" * 65, "name": "x"}, "#/slug"),
        ({"slug": "ok-slug", "name": "   "}, "#/name"),
        ({"slug": "ok-slug", "name": "n" * 201}, "#/name"),
        ({"slug": "ok-slug", "name": "x", "description": "d" * 5001}, "#/description"),
        ({"slug": "ok-slug", "name": "x", "colour": "red"}, "#/colour"),
        ({"slug": "ok-slug", "name": "Shoes\u202e"}, "#/name"),
        ({"slug": "ok-slug", "name": "x", "description": "a\x00b"}, "#/description"),
        ({"name": "x"}, "#/slug"),
    ],
)
async def test_invalid_categories_are_422_naming_the_member(
    client: httpx.AsyncClient, tokens: Tokens, body: dict[str, object], pointer: str
) -> None:
    response = await client.post("/api/categories", json=body, headers=bearer(tokens.admin))
    problem = assert_problem(response, 422)
    assert pointer in [error["pointer"] for error in problem["errors"]], problem


async def test_missing_categories_are_404(client: httpx.AsyncClient, tokens: Tokens) -> None:
    missing = unique_slug("missing")
    assert_problem(await client.get(f"/api/categories/{missing}"), 404, "category_not_found")
    patch = await client.patch(
        f"/api/categories/{missing}", json={"name": "x"}, headers=bearer(tokens.admin)
    )
    assert_problem(patch, 404, "category_not_found")
    delete = await client.delete(f"/api/categories/{missing}", headers=bearer(tokens.admin))
    assert_problem(delete, 404, "category_not_found")
    # A path that cannot be a slug is a validation error, not a lookup.
    assert_problem(await client.get("/api/categories/Not_A_Slug"), 422)
