"""auth while Cassandra or Vault is unreachable: 503 problem+json with Retry-After for
what needs it, the rest keeps answering, and it recovers without a restart.

The service reaches devstack's Cassandra and OpenBao through loopback proxies of
this module's own (tests.support.proxy), cut to make the outage: the shared
servers are never stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.openbao import OpenBao
from devstack.components.redis import Redis
from productstore_auth.app.core.config import AuthSettings
from tests.auth.support import PASSWORD, bearer, cleanup, register, service_settings
from tests.support.outages import assert_unavailable, outage_count, seconds_until
from tests.support.proxy import TcpProxy, tcp_proxy

pytestmark = pytest.mark.anyio

# The driver's longest wait between reconnection attempts in this module (the
# default is 10 s), so the recovery bound below is tight.
RECONNECT_MAX_DELAY = 2.0
# An outage long enough for the driver's reconnection delays to reach that cap.
OUTAGE_SECONDS = 6.0
# Recovery after the proxy forwards again: the cap, one readiness-free login, slack
# for a shared 2-core machine.
RECOVERY_BOUND = RECONNECT_MAX_DELAY + 6.0


@pytest.fixture(scope="module")
def cassandra_proxy(cassandra: Cassandra) -> Iterator[TcpProxy]:
    with tcp_proxy(cassandra.contact_points[0], cassandra.port, lifetime=600) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def vault_proxy(openbao: OpenBao) -> Iterator[TcpProxy]:
    host, port = openbao.addr.removeprefix("http://").split(":")
    with tcp_proxy(host, int(port), lifetime=600) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def auth_settings(
    cassandra: Cassandra,
    redis_server: Redis,
    openbao: OpenBao,
    cassandra_proxy: TcpProxy,
    vault_proxy: TcpProxy,
) -> Iterator[AuthSettings]:
    settings = service_settings(
        cassandra,
        redis_server,
        openbao,
        cassandra_port=cassandra_proxy.port,
        cassandra_reconnect_max_delay_seconds=RECONNECT_MAX_DELAY,
        vault_addr=f"http://{vault_proxy.address}",
        vault_timeout_seconds=2.0,
        # Every polled login counts against the address: keep it from limiting us.
        login_attempts_per_ip=100_000,
    )
    yield settings
    cleanup(settings, cassandra, openbao)


async def _login(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})


async def test_login_is_503_while_cassandra_is_down_and_recovers_without_restart(
    app: FastAPI, client: httpx.AsyncClient, cassandra_proxy: TcpProxy
) -> None:
    user = await register(client)
    assert (await _login(client, user["email"])).status_code == 200
    before = outage_count(app, "cassandra")
    cassandra_proxy.cut()
    try:
        down = await _login(client, user["email"])
        registering = await client.post(
            "/api/auth/register",
            json={"email": "x-" + user["email"], "name": "X", "password": PASSWORD},
        )
        readiness = await client.get("/readyz")
        # Verifying keys live in memory: the JWKS is still served.
        jwks = await client.get("/api/auth/.well-known/jwks.json")
        await asyncio.sleep(OUTAGE_SECONDS)
        still_down = await _login(client, user["email"])
    finally:
        cassandra_proxy.restore()
    recovery, failed = await seconds_until(
        lambda: _login(client, user["email"]), 200, timeout=RECOVERY_BOUND
    )
    print(f"auth login answered again {recovery:.2f} s after Cassandra came back")  # noqa: T201

    body = assert_unavailable(down, "cassandra")
    assert body["detail"].startswith("Cassandra is unavailable")
    assert_unavailable(registering, "cassandra")
    assert_unavailable(still_down, "cassandra")
    assert readiness.status_code == 503
    assert readiness.json()["checks"]["cassandra"]["status"] == "fail"
    assert jwks.status_code == 200
    # Each 503 counted once: the three above and those of the recovery.
    assert outage_count(app, "cassandra") == before + 3 + failed
    assert (await client.get("/readyz")).status_code == 200


async def test_key_rotation_is_503_while_vault_is_down_and_logins_go_on(
    app: FastAPI, client: httpx.AsyncClient, admin_token: str, vault_proxy: TcpProxy
) -> None:
    user = await register(client)
    before = outage_count(app, "vault")
    vault_proxy.cut()
    try:
        rotating = await client.post("/api/auth/keys/rotate", headers=bearer(admin_token))
        # Tokens are signed with the keys in memory: logging in needs no Vault.
        login = await _login(client, user["email"])
    finally:
        vault_proxy.restore()
    rotated = await client.post("/api/auth/keys/rotate", headers=bearer(admin_token))

    body = assert_unavailable(rotating, "vault")
    assert body["detail"].startswith("Vault is unavailable")
    assert str(vault_proxy.port) not in rotating.text
    assert login.status_code == 200, login.text
    assert outage_count(app, "vault") == before + 1
    assert rotated.status_code == 200, rotated.text
