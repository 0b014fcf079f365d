"""Attempt limits of registration and service tokens (issue 10, finding 8): per client
address as the gateway saw it, and per client id; 429 problem+json with Retry-After."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.openbao import OpenBao
from devstack.components.redis import Redis
from productstore_auth.app.core.config import AuthSettings
from tests.auth.support import (
    ORDERS_CLIENT,
    ORDERS_SECRET,
    PASSWORD,
    asgi_client,
    assert_problem,
    cleanup,
    service_settings,
    unique_email,
)

pytestmark = pytest.mark.anyio

REGISTER_LIMIT = 3
SERVICE_TOKEN_PER_IP = 4
SERVICE_TOKEN_PER_CLIENT = 6
GATEWAY = "127.0.0.1"


@pytest.fixture(scope="module")
def auth_settings(
    cassandra: Cassandra, redis_server: Redis, openbao: OpenBao
) -> Iterator[AuthSettings]:
    settings = service_settings(
        cassandra,
        redis_server,
        openbao,
        register_attempts_per_ip=REGISTER_LIMIT,
        service_token_attempts_per_ip=SERVICE_TOKEN_PER_IP,
        service_token_attempts_per_client=SERVICE_TOKEN_PER_CLIENT,
        # Long windows: nothing refills during the test.
        register_window_seconds=86400,
        service_token_window_seconds=86400,
        trusted_proxies=[GATEWAY],
    )
    yield settings
    cleanup(settings, cassandra, openbao)


def _address() -> str:
    # TEST-NET-2 addresses, fresh per call: each test has budgets of its own.
    return f"198.51.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


def _assert_limited(response: httpx.Response, limit: str) -> None:
    problem = assert_problem(response, 429, "rate_limited")
    assert problem["limit"] == limit
    assert int(response.headers["retry-after"]) >= 1
    assert f"'{limit}'" in problem["detail"]


async def _register(client: httpx.AsyncClient, email: str) -> httpx.Response:
    body = {"email": email, "name": "Ada", "password": PASSWORD}
    return await client.post("/api/auth/register", json=body)


async def test_registration_is_limited_per_client_address(app: FastAPI) -> None:
    """New and taken addresses alike spend the budget, so neither hashing nor asking
    which addresses have accounts goes faster than the limit."""
    taken = unique_email()
    async with asgi_client(app, client_ip=_address()) as client:
        statuses = [(await _register(client, taken)).status_code for _ in range(REGISTER_LIMIT)]
        assert statuses == [201] + [409] * (REGISTER_LIMIT - 1)
        _assert_limited(await _register(client, unique_email()), "register")
    # Another address has a budget of its own.
    async with asgi_client(app, client_ip=_address()) as other:
        assert (await _register(other, unique_email())).status_code == 201


async def test_registration_limit_keys_on_the_address_the_gateway_saw(app: FastAPI) -> None:
    """From the trusted gateway the subject is its X-Client-Address; a client's own
    X-Forwarded-For, fresh on every try, buys no fresh budget."""
    seen, other = _address(), _address()
    async with asgi_client(app, client_ip=GATEWAY) as gateway:
        for n in range(REGISTER_LIMIT + 1):
            response = await gateway.post(
                "/api/auth/register",
                json={"email": unique_email(), "name": "Ada", "password": PASSWORD},
                headers={"X-Client-Address": seen, "X-Forwarded-For": f"192.0.2.{n + 1}"},
            )
        _assert_limited(response, "register")
        response = await gateway.post(
            "/api/auth/register",
            json={"email": unique_email(), "name": "Ada", "password": PASSWORD},
            headers={"X-Client-Address": other},
        )
        assert response.status_code == 201, response.text


async def _token(
    client: httpx.AsyncClient, client_id: str = ORDERS_CLIENT, secret: str = ORDERS_SECRET
) -> httpx.Response:
    body = {"client_id": client_id, "client_secret": secret, "audience": "catalog"}
    return await client.post("/api/auth/service-token", json=body)


async def test_service_tokens_are_limited_per_client_address(app: FastAPI) -> None:
    async with asgi_client(app, client_ip=_address()) as client:
        for _ in range(SERVICE_TOKEN_PER_IP):
            assert_problem(await _token(client, "guessed-client", "a guess a guess"), 401)
        _assert_limited(await _token(client, "another-client", "a guess"), "service-token")


async def test_service_tokens_are_limited_per_client_id_over_all_addresses(
    app: FastAPI,
) -> None:
    client_id = f"client-{uuid.uuid4().hex[:8]}"
    spent = 0
    while spent < SERVICE_TOKEN_PER_CLIENT:
        # Fewer attempts per address than its own limit: only the client's can trip.
        async with asgi_client(app, client_ip=_address()) as client:
            for _ in range(min(2, SERVICE_TOKEN_PER_CLIENT - spent)):
                assert_problem(await _token(client, client_id, "a guess a guess"), 401)
                spent += 1
    async with asgi_client(app, client_ip=_address()) as fresh:
        _assert_limited(await _token(fresh, client_id, "a guess"), "service-token-client")
        # Other clients are not affected.
        assert (await _token(fresh)).status_code == 200
