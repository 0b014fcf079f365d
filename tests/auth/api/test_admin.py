"""User administration, and who may call which endpoint (the authorization matrix)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from tests.auth.support import (
    ORDERS_CLIENT,
    ORDERS_SECRET,
    PASSWORD,
    assert_problem,
    bearer,
    new_user,
    register,
    unique_email,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def user_token(client: httpx.AsyncClient) -> str:
    _, tokens = await new_user(client)
    token: str = tokens["access_token"]
    return token


@pytest.fixture(scope="module")
async def service_token(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/api/auth/service-token",
        json={"client_id": ORDERS_CLIENT, "client_secret": ORDERS_SECRET, "audience": "inventory"},
    )
    token: str = response.json()["access_token"]
    return token


# --- the authorization matrix --------------------------------------------------------

Request = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[httpx.Response]]


async def _target(client: httpx.AsyncClient) -> str:
    user_id: str = (await register(client))["id"]
    return user_id


def _on_user(
    method: str, suffix: str, body: Any = None, *, prefix: str = "/api/auth/users"
) -> Request:
    async def call(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
        target = await _target(client)
        return await client.request(
            method, f"{prefix}/{target}{suffix}", json=body, headers=headers
        )

    return call


def _plain(method: str, path: str) -> Request:
    async def call(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
        return await client.request(method, path, headers=headers)

    return call


# (method, route template) -> the request, and the status per caller. Service
# tokens are for other services' audiences, so this service refuses them (401).
PROTECTED: dict[tuple[str, str], tuple[Request, dict[str, int | tuple[int, str]]]] = {
    ("GET", "/api/auth/me"): (
        _plain("GET", "/api/auth/me"),
        {"anonymous": 401, "user": 200, "admin": 200, "service": 401},
    ),
    ("GET", "/api/auth/users"): (
        _plain("GET", "/api/auth/users"),
        {"anonymous": 401, "user": 403, "admin": 200, "service": 401},
    ),
    ("GET", "/api/auth/users/{user_id}"): (
        _on_user("GET", ""),
        {"anonymous": 401, "user": 403, "admin": 200, "service": 401},
    ),
    ("PUT", "/api/auth/users/{user_id}/roles"): (
        _on_user("PUT", "/roles", {"roles": ["user"]}),
        {"anonymous": 401, "user": 403, "admin": 200, "service": 401},
    ),
    ("POST", "/api/auth/users/{user_id}/disable"): (
        _on_user("POST", "/disable"),
        {"anonymous": 401, "user": 403, "admin": 200, "service": 401},
    ),
    ("POST", "/api/auth/users/{user_id}/enable"): (
        _on_user("POST", "/enable"),
        {"anonymous": 401, "user": 403, "admin": 200, "service": 401},
    ),
    ("POST", "/api/auth/keys/rotate"): (
        _plain("POST", "/api/auth/keys/rotate"),
        {"anonymous": 401, "user": 403, "admin": 200, "service": 401},
    ),
    # For other services only (a service token whose audience is auth: test_internal);
    # a person's token, even an admin's, is refused.
    ("GET", "/api/auth/internal/users/{user_id}/contact"): (
        _on_user("GET", "/contact", prefix="/api/auth/internal/users"),
        {
            "anonymous": 401,
            "user": (403, "service_token_required"),
            "admin": (403, "service_token_required"),
            "service": 401,
        },
    ),
}


async def _refresh_token(client: httpx.AsyncClient) -> str:
    _, tokens = await new_user(client)
    token: str = tokens["refresh_token"]
    return token


async def _public_call(method: str, path: str, client: httpx.AsyncClient) -> httpx.Response:
    if path == "/api/auth/register":
        body = {"email": unique_email(), "name": "Public", "password": PASSWORD}
        return await client.post(path, json=body)
    if path == "/api/auth/login":
        user = await register(client)
        return await client.post(path, json={"email": user["email"], "password": PASSWORD})
    if path == "/api/auth/token":
        user = await register(client)
        return await client.post(path, data={"username": user["email"], "password": PASSWORD})
    if path in ("/api/auth/refresh", "/api/auth/logout"):
        return await client.post(path, json={"refresh_token": await _refresh_token(client)})
    if path == "/api/auth/service-token":
        body = {"client_id": ORDERS_CLIENT, "client_secret": ORDERS_SECRET, "audience": "catalog"}
        return await client.post(path, json=body)
    return await client.request(method, path)


# Endpoints anyone may call (their own credentials are in the body).
PUBLIC: dict[tuple[str, str], int] = {
    ("POST", "/api/auth/register"): 201,
    ("POST", "/api/auth/login"): 200,
    ("POST", "/api/auth/token"): 200,
    ("POST", "/api/auth/refresh"): 200,
    ("POST", "/api/auth/logout"): 204,
    ("GET", "/api/auth/.well-known/jwks.json"): 200,
    ("POST", "/api/auth/service-token"): 200,
}


async def test_the_matrix_covers_every_route(app: FastAPI) -> None:
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert routes == set(PROTECTED) | set(PUBLIC)


@pytest.mark.parametrize("caller", ["anonymous", "user", "admin", "service"])
@pytest.mark.parametrize("endpoint", list(PROTECTED), ids=" ".join)
async def test_protected_endpoint(
    client: httpx.AsyncClient,
    endpoint: tuple[str, str],
    caller: str,
    *,
    user_token: str,
    admin_token: str,
    service_token: str,
) -> None:
    call, expected = PROTECTED[endpoint]
    token = {"user": user_token, "admin": admin_token, "service": service_token}.get(caller)
    response = await call(client, bearer(token) if token else {})
    answer = expected[caller]
    if isinstance(answer, tuple):
        status, reason = answer
    else:
        status = answer
        reason = {"anonymous": "missing_token", "user": "missing_role"}.get(caller, "audience")
    if status >= 400:
        assert_problem(response, status, reason)
        assert response.headers["www-authenticate"].startswith("Bearer")
    else:
        assert response.status_code == status, response.text


@pytest.mark.parametrize("endpoint", list(PUBLIC), ids=" ".join)
async def test_public_endpoint_needs_no_token(
    client: httpx.AsyncClient, endpoint: tuple[str, str]
) -> None:
    response = await _public_call(*endpoint, client)
    assert response.status_code == PUBLIC[endpoint], response.text


# --- administration --------------------------------------------------------------------


async def test_role_change_takes_effect_at_the_next_refresh(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    user, tokens = await new_user(client)
    promoted = await client.put(
        f"/api/auth/users/{user['id']}/roles",
        json={"roles": ["admin", "user", "admin"]},
        headers=bearer(admin_token),
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["roles"] == ["admin", "user"]
    # The access token in hand still carries the old roles ...
    old = await client.get("/api/auth/users", headers=bearer(tokens["access_token"]))
    assert_problem(old, 403, "missing_role")
    # ... the next one carries the new ones.
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    access = refreshed.json()["access_token"]
    assert jwt.decode(access, options={"verify_signature": False})["roles"] == ["admin", "user"]
    assert (await client.get("/api/auth/users", headers=bearer(access))).status_code == 200


@pytest.mark.parametrize("change", ["demote", "disable"])
async def test_a_demoted_or_disabled_admins_token_loses_admin_power_at_once(
    client: httpx.AsyncClient, admin_token: str, change: str
) -> None:
    """Issue 10, finding 8: the token in hand used to keep admin power until it expired.
    Here (the process that made the change) at once; other services within seconds
    (tests/catalog/api/test_authorization.py)."""
    user, tokens = await new_user(client)
    promote = await client.put(
        f"/api/auth/users/{user['id']}/roles",
        json={"roles": ["admin", "user"]},
        headers=bearer(admin_token),
    )
    assert promote.status_code == 200
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    admin = refreshed.json()["access_token"]
    assert (await client.get("/api/auth/users", headers=bearer(admin))).status_code == 200

    if change == "demote":
        changed = await client.put(
            f"/api/auth/users/{user['id']}/roles",
            json={"roles": ["user"]},
            headers=bearer(admin_token),
        )
    else:
        changed = await client.post(
            f"/api/auth/users/{user['id']}/disable", headers=bearer(admin_token)
        )
    assert changed.status_code == 200, changed.text
    refused = await client.get("/api/auth/users", headers=bearer(admin))
    assert_problem(refused, 401, "token_revoked")


async def test_admins_cannot_demote_or_disable_themselves(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    me = (await client.get("/api/auth/me", headers=bearer(admin_token))).json()
    demote = await client.put(
        f"/api/auth/users/{me['id']}/roles", json={"roles": ["user"]}, headers=bearer(admin_token)
    )
    assert_problem(demote, 409, "own_admin_role")
    disable = await client.post(f"/api/auth/users/{me['id']}/disable", headers=bearer(admin_token))
    assert_problem(disable, 409, "own_account")


@pytest.mark.parametrize(
    ("body", "pointer"),
    [({"roles": []}, "#/roles"), ({"roles": ["root"]}, "#/roles/0"), ({}, "#/roles")],
)
async def test_invalid_roles_are_422(
    client: httpx.AsyncClient, admin_token: str, body: dict[str, Any], pointer: str
) -> None:
    target = await _target(client)
    response = await client.put(
        f"/api/auth/users/{target}/roles", json=body, headers=bearer(admin_token)
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["pointer"] == pointer


async def test_unknown_user_is_404(client: httpx.AsyncClient, admin_token: str) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for method, suffix, body in [
        ("GET", "", None),
        ("PUT", "/roles", {"roles": ["user"]}),
        ("POST", "/disable", None),
        ("POST", "/enable", None),
    ]:
        response = await client.request(
            method, f"/api/auth/users/{missing}{suffix}", json=body, headers=bearer(admin_token)
        )
        assert_problem(response, 404, "user_not_found")
    not_an_id = await client.get("/api/auth/users/42", headers=bearer(admin_token))
    assert assert_problem(not_an_id, 422)["errors"][0]["parameter"] == "user_id"


async def test_users_are_listed_page_by_page(client: httpx.AsyncClient, admin_token: str) -> None:
    registered = {(await register(client))["id"] for _ in range(3)}
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(100):  # bounded: the module has far fewer users
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/api/auth/users", params=params, headers=bearer(admin_token))
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert cursor is None
    assert len(seen) == len(set(seen))
    assert registered <= set(seen)


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"limit": "0"}, None),
        ({"limit": "101"}, None),
    ],
)
async def test_bad_paging_parameters_are_422(
    client: httpx.AsyncClient, admin_token: str, params: dict[str, str], reason: str | None
) -> None:
    response = await client.get("/api/auth/users", params=params, headers=bearer(admin_token))
    assert_problem(response, 422, reason)
    # A rejected cursor never reaches Cassandra: the service keeps answering.
    assert (await client.get("/readyz")).status_code == 200
