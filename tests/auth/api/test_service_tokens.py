"""Service-to-service tokens: client credentials and the audience allow-list."""

from __future__ import annotations

import httpx
import jwt
import pytest

from productstore_auth.app.core.config import AuthSettings
from tests.auth.support import ORDERS_CLIENT, ORDERS_SECRET, assert_problem, bearer

pytestmark = pytest.mark.anyio


async def _ask(
    client: httpx.AsyncClient,
    audience: str,
    *,
    client_id: str = ORDERS_CLIENT,
    secret: str = ORDERS_SECRET,
) -> httpx.Response:
    return await client.post(
        "/api/auth/service-token",
        json={"client_id": client_id, "client_secret": secret, "audience": audience},
    )


@pytest.mark.parametrize("audience", ["inventory", "catalog"])
async def test_allowed_audience_gets_a_short_lived_service_token(
    client: httpx.AsyncClient, auth_settings: AuthSettings, audience: str
) -> None:
    response = await _ask(client, audience)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["audience"] == audience
    assert body["expires_in"] == auth_settings.service_token_lifetime_seconds
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "ES256"
    assert header["typ"] == "at+jwt"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == audience
    assert claims["sub"] == ORDERS_CLIENT
    assert claims["token_type"] == "service"
    assert claims["roles"] == []
    assert claims["exp"] - claims["iat"] == auth_settings.service_token_lifetime_seconds


async def test_audience_outside_the_allow_list_is_403(client: httpx.AsyncClient) -> None:
    for audience in ("auth", "orders", "notifications"):
        problem = assert_problem(await _ask(client, audience), 403, "audience_not_allowed")
        assert audience in problem["detail"]


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [
        (ORDERS_CLIENT, "orders-secret-wrong-123"),
        (ORDERS_CLIENT, ORDERS_SECRET[:-1]),
        ("payments", ORDERS_SECRET),
    ],
)
async def test_bad_client_credentials_are_401(
    client: httpx.AsyncClient, client_id: str, secret: str
) -> None:
    response = await _ask(client, "inventory", client_id=client_id, secret=secret)
    problem = assert_problem(response, 401, "invalid_client")
    # Same answer for an unknown client and a wrong secret.
    assert problem["detail"] == "Unknown client id or wrong client secret."


async def test_malformed_audience_is_422(client: httpx.AsyncClient) -> None:
    problem = assert_problem(await _ask(client, "Not A Service"), 422)
    assert problem["errors"][0]["pointer"] == "#/audience"


async def test_service_tokens_are_not_user_tokens(client: httpx.AsyncClient) -> None:
    token = (await _ask(client, "inventory")).json()["access_token"]
    # Meant for the inventory service, not for this one.
    assert_problem(await client.get("/api/auth/me", headers=bearer(token)), 401, "audience")
