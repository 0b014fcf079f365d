"""Who may call which endpoint: anonymous visitors and users read, admins write."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from productstore_common.auth.revocation import DEFAULT_CACHE_SECONDS
from tests.auth.support import PASSWORD, unique_email
from tests.catalog.support import (
    AuthServer,
    Tokens,
    assert_problem,
    bearer,
    create_category,
    create_product,
    product_body,
    unique_slug,
)

pytestmark = pytest.mark.anyio

# A call builds its own target (as admin) first, then makes the request with `headers`.
Call = Callable[[httpx.AsyncClient, str, dict[str, str]], Awaitable[httpx.Response]]


async def _list_products(c: httpx.AsyncClient, admin: str, h: dict[str, str]) -> httpx.Response:
    return await c.get("/api/products", headers=h)


async def _search(c: httpx.AsyncClient, admin: str, h: dict[str, str]) -> httpx.Response:
    return await c.get("/api/products/search", params={"q": "shoe"}, headers=h)


async def _no_results(c: httpx.AsyncClient, admin: str, h: dict[str, str]) -> httpx.Response:
    return await c.get("/api/products/search/no-results", headers=h)


async def _get_product(c: httpx.AsyncClient, admin: str, h: dict[str, str]) -> httpx.Response:
    product = await create_product(c, admin, await create_category(c, admin))
    return await c.get(f"/api/products/{product['id']}", headers=h)


async def _create_product(c: httpx.AsyncClient, admin: str, h: dict[str, str]) -> httpx.Response:
    slug = await create_category(c, admin)
    return await c.post("/api/products", json=product_body(slug), headers=h)


async def _patch_product(c: httpx.AsyncClient, admin: str, h: dict[str, str]) -> httpx.Response:
    product = await create_product(c, admin, await create_category(c, admin))
    return await c.patch(f"/api/products/{product['id']}", json={"name": "New"}, headers=h)


async def _delete_product(c: httpx.AsyncClient, admin: str, h: dict[str, str]) -> httpx.Response:
    product = await create_product(c, admin, await create_category(c, admin))
    return await c.delete(f"/api/products/{product['id']}", headers=h)


async def _list_categories(c: httpx.AsyncClient, admin: str, h: dict[str, str]) -> httpx.Response:
    return await c.get("/api/categories", headers=h)


async def _get_category(c: httpx.AsyncClient, admin: str, h: dict[str, str]) -> httpx.Response:
    return await c.get(f"/api/categories/{await create_category(c, admin)}", headers=h)


async def _create_category(c: httpx.AsyncClient, admin: str, h: dict[str, str]) -> httpx.Response:
    return await c.post("/api/categories", json={"slug": unique_slug(), "name": "N"}, headers=h)


async def _patch_category(c: httpx.AsyncClient, admin: str, h: dict[str, str]) -> httpx.Response:
    slug = await create_category(c, admin)
    return await c.patch(f"/api/categories/{slug}", json={"name": "New"}, headers=h)


async def _delete_category(c: httpx.AsyncClient, admin: str, h: dict[str, str]) -> httpx.Response:
    return await c.delete(f"/api/categories/{await create_category(c, admin)}", headers=h)


READ = {"anonymous": 200, "user": 200, "admin": 200}

# (method, route template) -> the call and the status per caller.
MATRIX: dict[tuple[str, str], tuple[Call, dict[str, int]]] = {
    ("GET", "/api/products"): (_list_products, READ),
    ("GET", "/api/products/search"): (_search, READ),
    # What visitors searched for and did not find: for admins only.
    ("GET", "/api/products/search/no-results"): (
        _no_results,
        {"anonymous": 401, "user": 403, "admin": 200},
    ),
    ("GET", "/api/products/{product_id}"): (_get_product, READ),
    ("POST", "/api/products"): (_create_product, {"anonymous": 401, "user": 403, "admin": 201}),
    ("PATCH", "/api/products/{product_id}"): (
        _patch_product,
        {"anonymous": 401, "user": 403, "admin": 200},
    ),
    ("DELETE", "/api/products/{product_id}"): (
        _delete_product,
        {"anonymous": 401, "user": 403, "admin": 204},
    ),
    ("GET", "/api/categories"): (_list_categories, READ),
    ("GET", "/api/categories/{slug}"): (_get_category, READ),
    ("POST", "/api/categories"): (
        _create_category,
        {"anonymous": 401, "user": 403, "admin": 201},
    ),
    ("PATCH", "/api/categories/{slug}"): (
        _patch_category,
        {"anonymous": 401, "user": 403, "admin": 200},
    ),
    ("DELETE", "/api/categories/{slug}"): (
        _delete_category,
        {"anonymous": 401, "user": 403, "admin": 204},
    ),
}

CASES = [
    pytest.param(key, caller, id=f"{key[0]} {key[1]} as {caller}")
    for key in MATRIX
    for caller in ("anonymous", "user", "admin")
]


async def test_the_matrix_covers_every_api_route(app: FastAPI) -> None:
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert routes == set(MATRIX)


@pytest.mark.parametrize(("key", "caller"), CASES)
async def test_authorization(
    client: httpx.AsyncClient, tokens: Tokens, key: tuple[str, str], caller: str
) -> None:
    call, expected = MATRIX[key]
    headers = {"anonymous": {}, "user": bearer(tokens.user), "admin": bearer(tokens.admin)}[caller]
    response = await call(client, tokens.admin, headers)
    status = expected[caller]
    if status >= 400:
        body = assert_problem(response, status)
        assert body["reason"] == ("missing_token" if status == 401 else "missing_role")
    else:
        assert response.status_code == status, response.text


async def test_a_forged_token_is_refused(client: httpx.AsyncClient, tokens: Tokens) -> None:
    header, payload, signature = tokens.admin.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    response = await client.post(
        "/api/categories", json={"slug": unique_slug(), "name": "N"}, headers=bearer(forged)
    )
    assert_problem(response, 401)


@pytest.mark.parametrize("change", ["demote", "disable"])
async def test_a_demoted_or_disabled_admin_loses_admin_power_within_seconds(
    client: httpx.AsyncClient, tokens: Tokens, auth_server: AuthServer, change: str
) -> None:
    """Issue 10, finding 8: a demoted or disabled administrator's token kept admin power
    in the catalog until it expired (an hour in these tests). The auth service records
    a role epoch in the shared Redis; the catalog's role checks read it (cached for
    DEFAULT_CACHE_SECONDS), so the old token stops working within that."""
    async with httpx.AsyncClient(base_url=auth_server.url, timeout=30) as auth:
        email = unique_email("second-admin")
        registered = await auth.post(
            "/api/auth/register", json={"email": email, "name": "Grace", "password": PASSWORD}
        )
        user_id = registered.raise_for_status().json()["id"]
        promoted = await auth.put(
            f"/api/auth/users/{user_id}/roles",
            json={"roles": ["admin", "user"]},
            headers=bearer(tokens.admin),
        )
        assert promoted.status_code == 200, promoted.text
        login = await auth.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        token = login.raise_for_status().json()["access_token"]
        # An admin now, in the catalog too (and the catalog has cached that).
        assert (await _create_category(client, tokens.admin, bearer(token))).status_code == 201

        changed = (
            await auth.put(
                f"/api/auth/users/{user_id}/roles",
                json={"roles": ["user"]},
                headers=bearer(tokens.admin),
            )
            if change == "demote"
            else await auth.post(f"/api/auth/users/{user_id}/disable", headers=bearer(tokens.admin))
        )
        assert changed.status_code == 200, changed.text

    deadline = time.monotonic() + DEFAULT_CACHE_SECONDS + 2
    while True:
        response = await _create_category(client, tokens.admin, bearer(token))
        if response.status_code != 201 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    problem = assert_problem(response, 401, "token_revoked")
    assert "refresh" in problem["detail"]
    # Reads need no role, and so no role check.
    assert (await _list_categories(client, tokens.admin, bearer(token))).status_code == 200
