"""Reads for other services: a user's contact for a service token whose audience is auth,
and nobody else (users, other audiences, no token)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.auth.support import (
    CONTACTS_CLIENT,
    CONTACTS_SECRET,
    ORDERS_CLIENT,
    ORDERS_SECRET,
    PASSWORD,
    assert_problem,
    bearer,
    login,
    unique_email,
)

pytestmark = pytest.mark.anyio


async def _service_token(
    client: httpx.AsyncClient, client_id: str, secret: str, audience: str
) -> str:
    response = await client.post(
        "/api/auth/service-token",
        json={"client_id": client_id, "client_secret": secret, "audience": audience},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _register(client: httpx.AsyncClient) -> tuple[str, str]:
    email = unique_email("contact")
    created = await client.post(
        "/api/auth/register", json={"email": email, "name": "Ада", "password": PASSWORD}
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], email


async def test_a_service_with_the_auth_audience_reads_a_contact(client: httpx.AsyncClient) -> None:
    user_id, email = await _register(client)
    token = await _service_token(client, CONTACTS_CLIENT, CONTACTS_SECRET, "auth")
    response = await client.get(
        f"/api/auth/internal/users/{user_id}/contact", headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"id": user_id, "email": email, "name": "Ада", "disabled": False}


async def test_an_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    token = await _service_token(client, CONTACTS_CLIENT, CONTACTS_SECRET, "auth")
    response = await client.get(
        f"/api/auth/internal/users/{uuid.uuid4()}/contact", headers=bearer(token)
    )
    assert_problem(response, 404)


async def test_users_and_other_audiences_are_refused(client: httpx.AsyncClient) -> None:
    user_id, email = await _register(client)
    path = f"/api/auth/internal/users/{user_id}/contact"
    user_token = (await login(client, email, PASSWORD))["access_token"]
    assert_problem(
        await client.get(path, headers=bearer(user_token)), 403, "service_token_required"
    )
    other = await _service_token(client, ORDERS_CLIENT, ORDERS_SECRET, "inventory")
    assert_problem(await client.get(path, headers=bearer(other)), 401)
    assert_problem(await client.get(path), 401, "missing_token")
