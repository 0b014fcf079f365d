"""The `rate_limit` dependency end to end: a tiny app on the real Redis, called over
ASGI from different client addresses and principals."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from fastapi import APIRouter, Depends, FastAPI
from pydantic import HttpUrl

from devstack.components.redis import Redis
from productstore_common.app import create_app
from productstore_common.auth import (
    AuthConfig,
    access_token_claims,
    auth_lifespan,
    sign_access_token,
)
from productstore_common.auth.keys import SigningKey, generate_signing_key, jwk_thumbprint
from productstore_common.errors import PROBLEM_CONTENT_TYPE
from productstore_common.ratelimit import (
    RATE_LIMITED_RESPONSES,
    RateLimiter,
    by_principal,
    client_ip,
    install_rate_limiter,
    rate_limit,
)
from productstore_common.settings import ServiceSettings
from productstore_common.telemetry.metrics import metrics_of
from tests.common.auth.support import AUDIENCE, ISSUER, JwksServer

pytestmark = pytest.mark.anyio

router = APIRouter(prefix="/api")


@router.get(
    "/by-ip",
    dependencies=[Depends(rate_limit("e2e-ip", rate=3, per=60, key=client_ip))],
    responses=RATE_LIMITED_RESPONSES,
)
async def by_ip() -> dict[str, str]:
    return {"ok": "yes"}


@router.get("/mixed", dependencies=[Depends(rate_limit("e2e-mixed", rate=2, per=60))])
async def mixed() -> dict[str, str]:
    return {"ok": "yes"}


@router.get(
    "/users-only", dependencies=[Depends(rate_limit("e2e-user", rate=1, per=60, key=by_principal))]
)
async def users_only() -> dict[str, str]:
    return {"ok": "yes"}


# Two limits on one route: the headers show the tighter one.
@router.get(
    "/two-limits",
    dependencies=[
        Depends(rate_limit("e2e-loose", rate=10, per=60, key=client_ip)),
        Depends(rate_limit("e2e-tight", rate=2, per=60, key=client_ip)),
    ],
)
async def two_limits() -> dict[str, str]:
    return {"ok": "yes"}


@router.get(
    "/strict",
    dependencies=[
        Depends(rate_limit("e2e-strict", rate=5, per=60, key=client_ip, fail_open=False))
    ],
)
async def strict() -> dict[str, str]:
    return {"ok": "yes"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def signing_key() -> SigningKey:
    return generate_signing_key()


@pytest.fixture
def jwks_server(signing_key: SigningKey) -> Iterator[JwksServer]:
    server = JwksServer()
    server.publish({jwk_thumbprint(signing_key): signing_key})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def token(signing_key: SigningKey) -> Callable[[str], str]:
    def mint(subject: str) -> str:
        claims = access_token_claims(
            issuer=ISSUER, audience=AUDIENCE, subject=subject, token_type="user", roles=["user"]
        )
        return sign_access_token(claims, signing_key, jwk_thumbprint(signing_key))

    return mint


def build_app(redis_url: str, jwks_url: str) -> FastAPI:
    @asynccontextmanager
    async def limiter_lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=0.5)
        prefix = f"ratelimit-e2e-{uuid.uuid4().hex[:12]}"
        install_rate_limiter(app, RateLimiter(client, prefix=prefix, metrics=metrics_of(app)))
        try:
            yield
        finally:
            await client.aclose()

    config = AuthConfig(issuer=ISSUER, audience=AUDIENCE, jwks_url=HttpUrl(jwks_url))
    return create_app(
        ServiceSettings(environment="test", service_name=f"rl-{uuid.uuid4().hex[:8]}"),
        title="Rate limited",
        version="1.0.0",
        routers=[router],
        lifespans=[auth_lifespan(config), limiter_lifespan],
    )


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Clients of `app` (lifespan running) that each come from a given address."""
    clients: list[httpx.AsyncClient] = []

    def client_from(host: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(host, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://rl.test")
        clients.append(client)
        return client

    async with app.router.lifespan_context(app):
        try:
            yield client_from
        finally:
            for client in clients:
                await client.aclose()


@pytest.fixture
async def app_clients(
    redis_server: Redis, jwks_server: JwksServer
) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    async with serve(build_app(redis_server.env()["REDIS_URL"], jwks_server.url)) as client_from:
        yield client_from


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_budget_headers_then_429_problem(
    app_clients: Callable[..., httpx.AsyncClient],
) -> None:
    client = app_clients("198.51.100.1")
    allowed = [await client.get("/api/by-ip") for _ in range(3)]
    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [r.headers["RateLimit-Remaining"] for r in allowed] == ["2", "1", "0"]
    assert allowed[0].headers["RateLimit-Limit"] == "3"
    assert allowed[0].headers["RateLimit-Policy"] == "3;w=60"
    assert 1 <= int(allowed[0].headers["RateLimit-Reset"]) <= 20

    rejected = await client.get("/api/by-ip")
    assert rejected.status_code == 429
    assert rejected.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert 1 <= int(rejected.headers["Retry-After"]) <= 20
    assert rejected.headers["RateLimit-Remaining"] == "0"
    body = rejected.json()
    assert body["title"] == "Too Many Requests"
    assert body["status"] == 429
    assert body["instance"] == "/api/by-ip"
    assert (body["reason"], body["limit"]) == ("rate_limited", "e2e-ip")
    assert body["retry_after"] == int(rejected.headers["Retry-After"])
    assert "'e2e-ip' of 3 requests per 60 s" in body["detail"]
    assert f"retry in {body['retry_after']} s" in body["detail"]


async def test_addresses_have_their_own_budgets_ipv6_by_64(
    app_clients: Callable[..., httpx.AsyncClient],
) -> None:
    first = app_clients("198.51.100.2")
    assert [(await first.get("/api/by-ip")).status_code for _ in range(4)] == [200] * 3 + [429]
    assert (await app_clients("198.51.100.3").get("/api/by-ip")).status_code == 200

    # One IPv6 host holds a /64: its addresses share one budget.
    same_net = [app_clients(f"2001:db8:1:2::{n}") for n in range(1, 5)]
    statuses = [(await c.get("/api/by-ip")).status_code for c in same_net]
    assert statuses == [200, 200, 200, 429]
    assert (await app_clients("2001:db8:1:3::1").get("/api/by-ip")).status_code == 200


async def test_principals_have_their_own_budgets_anonymous_go_by_address(
    app_clients: Callable[..., httpx.AsyncClient], token: Callable[[str], str]
) -> None:
    client = app_clients("198.51.100.4")  # every caller below comes from here
    alice = {"Authorization": f"Bearer {token('alice')}"}
    bob = {"Authorization": f"Bearer {token('bob')}"}
    assert [(await client.get("/api/mixed", headers=alice)).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    assert (await client.get("/api/mixed", headers=bob)).status_code == 200
    assert [(await client.get("/api/mixed")).status_code for _ in range(3)] == [200, 200, 429]

    assert (await client.get("/api/users-only")).status_code == 401  # by_principal needs one
    assert (await client.get("/api/users-only", headers=alice)).status_code == 200
    assert (await client.get("/api/users-only", headers=alice)).status_code == 429


async def test_two_limits_show_the_tighter(app_clients: Callable[..., httpx.AsyncClient]) -> None:
    client = app_clients("198.51.100.5")
    first = await client.get("/api/two-limits")
    assert (first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]) == ("2", "1")
    await client.get("/api/two-limits")
    rejected = await client.get("/api/two-limits")
    assert rejected.status_code == 429
    assert rejected.json()["limit"] == "e2e-tight"


async def test_openapi_documents_the_429(app_clients: Callable[..., httpx.AsyncClient]) -> None:
    document: dict[str, Any] = (await app_clients().get("/openapi.json")).json()
    responses = document["paths"]["/api/by-ip"]["get"]["responses"]
    assert "Retry-After" in responses["429"]["headers"]
    assert PROBLEM_CONTENT_TYPE in responses["429"]["content"]


async def test_redis_down_open_passes_closed_answers_503(
    closed_port: int, jwks_server: JwksServer
) -> None:
    app = build_app(f"redis://127.0.0.1:{closed_port}/0", jwks_server.url)
    async with serve(app) as client_from:
        client = client_from()
        opened = [await client.get("/api/by-ip") for _ in range(5)]
        closed = await client.get("/api/strict")
        metrics = (await client.get("/metrics")).text
    assert [r.status_code for r in opened] == [200] * 5
    assert "RateLimit-Remaining" not in opened[0].headers  # nothing known, nothing claimed
    assert closed.status_code == 503
    assert closed.headers["Retry-After"] == "1"
    assert closed.json()["reason"] == "rate_limit_unavailable"
    assert 'rate_limit_checks_total{limit="e2e-ip",outcome="error_allowed"} 5.0' in metrics
    assert 'rate_limit_checks_total{limit="e2e-strict",outcome="error_rejected"} 1.0' in metrics
