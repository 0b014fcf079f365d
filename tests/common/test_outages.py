"""A dependency's outage is a 503 problem with Retry-After and a counter, not a 500.

The drivers' errors come from the real servers of devstack behind a loopback
proxy of the test's own (`tests.support.proxy`), cut (refused, as a dead server)
or blackholed (silent, as a hung one): the shared servers are never stopped.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import cassandra as cql
import hvac
import hvac.exceptions
import pytest
import redis.asyncio as redis
import requests.exceptions
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka import errors as kafka_errors
from fastapi import FastAPI
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.openbao import OpenBao
from devstack.components.redis import Redis
from productstore_common.cassandra import CassandraSession
from productstore_common.errors import PROBLEM_CONTENT_TYPE
from productstore_common.outages import unavailable_dependency
from productstore_common.payments import PaymentDeclined, PaymentRefused, PaymentsUnavailable
from productstore_common.telemetry.metrics import metrics_of
from tests.common.tinyapp import (
    STOCK_REDIS_URL,
    build_app,
    http_exchange,
    serve,
    settings,
    uvicorn_process,
)
from tests.support.metrics import Scrape, scrape
from tests.support.proxy import TcpProxy, tcp_proxy

pytestmark = pytest.mark.anyio

# A driver call through the proxy: it may use the server first, then makes the
# fault (proxy.cut or proxy.blackhole) and calls again, raising the driver's error.
DriverCall = Callable[[TcpProxy, Callable[[], None], dict[str, Any]], Awaitable[None]]


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "//" in url else f"tcp://{url}")
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


async def _cassandra(proxy: TcpProxy, fault: Callable[[], None], env: dict[str, Any]) -> None:
    db = await CassandraSession.connect_async(
        contact_points=[proxy.host],
        port=proxy.port,
        local_dc="datacenter1",
        username=env["cassandra_username"],
        password=env["cassandra_password"],
        consistency="ONE",
        request_timeout=2.0,
    )
    try:
        await db.execute_async("SELECT release_version FROM system.local")
        fault()
        await db.execute_async("SELECT release_version FROM system.local")
    finally:
        db.close()


async def _cassandra_connect(
    proxy: TcpProxy, fault: Callable[[], None], env: dict[str, Any]
) -> None:
    fault()
    db = await CassandraSession.connect_async(
        contact_points=[proxy.host],
        port=proxy.port,
        local_dc="datacenter1",
        username=env["cassandra_username"],
        password=env["cassandra_password"],
        connect_timeout=1,
    )
    db.close()


async def _redis(proxy: TcpProxy, fault: Callable[[], None], _: dict[str, Any]) -> None:
    # No retries: each would wait the timeout again.
    client = redis.Redis(
        host=proxy.host,
        port=proxy.port,
        socket_timeout=1,
        socket_connect_timeout=1,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        await client.ping()
        fault()
        await client.get("outage-test")
    finally:
        await client.aclose()


async def _kafka(proxy: TcpProxy, fault: Callable[[], None], _: dict[str, Any]) -> None:
    # Only the bootstrap goes through the proxy (the broker advertises its own
    # address), so the fault comes first.
    fault()
    producer = AIOKafkaProducer(bootstrap_servers=proxy.address, request_timeout_ms=2000)
    try:
        await producer.start()
    finally:
        await producer.stop()


async def _vault(proxy: TcpProxy, fault: Callable[[], None], env: dict[str, Any]) -> None:
    client = hvac.Client(url=f"http://{proxy.address}", token=env["token"], timeout=1)

    def call() -> None:
        assert client.is_authenticated()
        fault()
        client.is_authenticated()

    try:
        await asyncio.to_thread(call)
    finally:
        client.adapter.close()


DRIVER_CASES: list[tuple[str, DriverCall, str, str]] = [
    # (target, call, fault, the dependency it is an outage of)
    ("cassandra", _cassandra, "cut", "cassandra"),  # NoHostAvailable
    ("cassandra", _cassandra, "blackhole", "cassandra"),  # OperationTimedOut
    ("cassandra", _cassandra_connect, "cut", "cassandra"),  # ours, from NoHostAvailable
    ("redis", _redis, "cut", "redis"),  # ConnectionError
    ("redis", _redis, "blackhole", "redis"),  # TimeoutError
    ("kafka", _kafka, "cut", "kafka"),  # KafkaConnectionError
    ("kafka", _kafka, "blackhole", "kafka"),
    ("vault", _vault, "cut", "vault"),  # requests' ConnectionError
    ("vault", _vault, "blackhole", "vault"),  # requests' ReadTimeout
]


@dataclass(frozen=True)
class Servers:
    """Where devstack's servers are, and the Vault token."""

    addresses: dict[str, tuple[str, int]]
    vault_token: str
    # devstack's Cassandra superuser (the node checks passwords).
    cassandra_username: str | None
    cassandra_password: str | None

    def env(self) -> dict[str, Any]:
        return {
            "token": self.vault_token,
            "cassandra_username": self.cassandra_username,
            "cassandra_password": self.cassandra_password,
        }


@pytest.fixture
def servers(cassandra: Cassandra, redis_server: Redis, kafka: Kafka, openbao: OpenBao) -> Servers:
    addresses = {
        "cassandra": (cassandra.contact_points[0], cassandra.port),
        "redis": _host_port(redis_server.env()["REDIS_URL"]),
        "kafka": _host_port(kafka.bootstrap_servers.split(",")[0]),
        "vault": _host_port(openbao.addr),
    }
    return Servers(addresses, openbao.token, cassandra.username, cassandra.password)


@pytest.mark.parametrize(
    "case", DRIVER_CASES, ids=[f"{case[1].__name__.strip('_')}-{case[2]}" for case in DRIVER_CASES]
)
async def test_a_real_driver_failure_is_named_an_outage(
    servers: Servers, case: tuple[str, DriverCall, str, str]
) -> None:
    target, call, fault, dependency = case
    with (
        tcp_proxy(*servers.addresses[target], lifetime=120) as proxy,
        pytest.raises(Exception) as raised,
    ):
        await asyncio.wait_for(call(proxy, getattr(proxy, fault), servers.env()), timeout=60)
    assert unavailable_dependency(raised.value) == dependency, repr(raised.value)


async def test_a_real_driver_error_that_is_no_outage_is_not_named_one(
    cassandra: Cassandra, redis_server: Redis, openbao: OpenBao
) -> None:
    """Bad CQL, a Redis error reply, a refused Vault token: answers of a working server."""
    failures: list[BaseException] = []
    db = await CassandraSession.connect_async(
        contact_points=cassandra.contact_points,
        port=cassandra.port,
        local_dc=cassandra.local_dc,
        username=cassandra.username,
        password=cassandra.password,
        consistency="ONE",
    )
    try:
        with pytest.raises(cql.InvalidRequest) as invalid:
            await db.execute_async("SELECT * FROM system.no_such_table")
        failures.append(invalid.value)
    finally:
        db.close()
    client = redis.Redis.from_url(redis_server.env()["REDIS_URL"])
    try:
        with pytest.raises(redis_errors.ResponseError) as reply:
            await client.eval("return redis.error_reply('refused by the script')", 0)
        failures.append(reply.value)
    finally:
        await client.aclose()
    vault = hvac.Client(url=openbao.addr, token="not-a-token", timeout=5)
    with pytest.raises(hvac.exceptions.Forbidden) as forbidden:
        await asyncio.to_thread(vault.secrets.kv.v2.read_secret_version, path="x")
    failures.append(forbidden.value)
    assert [unavailable_dependency(failure) for failure in failures] == [None, None, None]


# Errors a test cannot provoke from one healthy local server (a replica that times
# out, a sealed Vault, a certificate that fails): the table's decisions, one by one.
DECISIONS: list[tuple[BaseException, str | None]] = [
    (cql.Unavailable("not enough replicas"), "cassandra"),
    (cql.WriteTimeout("replicas did not answer", write_type=cql.WriteType.SIMPLE), "cassandra"),
    (cql.ReadTimeout("replicas did not answer"), "cassandra"),
    (cql.ReadFailure("tombstones"), None),
    (cql.InvalidRequest("unconfigured table"), None),
    (cql.AuthenticationFailed("bad credentials"), None),
    (redis_errors.BusyLoadingError("loading"), "redis"),
    (redis_errors.MaxConnectionsError("pool exhausted"), "redis"),
    (redis_errors.AuthenticationError("invalid password"), None),
    (kafka_errors.NotEnoughReplicasError(), "kafka"),
    (kafka_errors.UnknownTopicOrPartitionError(), None),
    (kafka_errors.ProducerClosed(), None),
    (hvac.exceptions.VaultDown("sealed"), "vault"),
    (hvac.exceptions.InvalidPath("no secret"), None),
    (requests.exceptions.SSLError("certificate verify failed"), None),
    (PaymentsUnavailable("provider answered 503"), "payments"),
    # A declined card or a refused request is the provider's answer, not an outage.
    (PaymentDeclined("insufficient_funds", None, "declined"), None),
    (PaymentRefused(409, "invalid_state", "captured already", {}), None),
    (RuntimeError("a bug"), None),
]


@pytest.mark.parametrize(("error", "dependency"), DECISIONS, ids=lambda v: type(v).__name__)
def test_which_driver_errors_are_outages(error: BaseException, dependency: str | None) -> None:
    assert unavailable_dependency(error) == dependency


class StoreUnavailableError(Exception):
    """A data layer's own error, as auth's VaultUnavailableError."""


@pytest.mark.parametrize(("keep_cause", "dependency"), [(True, "redis"), (False, None)])
def test_a_wrapped_error_is_an_outage_only_when_raised_from_one(
    keep_cause: bool, dependency: str | None
) -> None:
    cause = redis_errors.ConnectionError("Error 111 connecting to 10.1.2.3:6379")
    try:
        try:
            raise cause
        except redis_errors.ConnectionError as exc:
            raise StoreUnavailableError("the store is down") from (exc if keep_cause else None)
    except StoreUnavailableError as wrapped:
        assert unavailable_dependency(wrapped) == dependency
    group = ExceptionGroup("in a task group", [ValueError("other"), cause])
    assert unavailable_dependency(group) == "redis"


def _redis_via(proxy: TcpProxy) -> str:
    return f"redis://{proxy.address}/0"


def _outages(exported: Scrape, app: FastAPI, dependency: str) -> float | None:
    return exported.value(
        "dependency_unavailable_total", service=metrics_of(app).service, dependency=dependency
    )


async def test_an_outage_is_a_503_with_retry_after_and_counted_and_recovers(
    redis_server: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build_app(settings(dependency_retry_after_seconds=7))
    with tcp_proxy(*_host_port(redis_server.env()["REDIS_URL"]), lifetime=120) as proxy:
        monkeypatch.setenv(STOCK_REDIS_URL, _redis_via(proxy))
        async with serve(app) as client:
            assert (await client.get("/api/things/1/stock")).status_code == 200
            before = await scrape(client)
            assert _outages(before, app, "redis") == 0
            proxy.cut()
            response = await client.get("/api/things/1/stock", headers={"X-Request-ID": "r-1"})
            after = await scrape(client)
            proxy.restore()
            # No restart: the next request opens a new connection.
            recovered = await client.get("/api/things/1/stock")
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.headers["retry-after"] == "7"
    assert response.headers["x-request-id"] == "r-1"
    body = response.json()
    assert body["type"] == "about:blank"
    assert body["title"] == "Service Unavailable"
    assert body["reason"] == "dependency_unavailable"
    assert body["dependency"] == "redis"
    assert body["detail"] == (
        "Redis is unavailable, so this request could not be completed; retry in 7 s."
    )
    assert body["instance"] == "/api/things/1/stock"
    assert body["request_id"] == "r-1"
    assert len(body["trace_id"]) == 32
    # No internal address: the driver's message names host and port.
    assert str(proxy.port) not in response.text
    assert "127.0.0.1" not in response.text
    assert _outages(after, app, "redis") == 1
    assert _outages(after, app, "cassandra") == 0
    assert any(
        dict(labels)["route"] == "/api/things/{thing_id}/stock" and dict(labels)["status"] == "503"
        for labels in after.series("http_requests_total")
    )
    assert recovered.status_code == 200


def test_the_retry_after_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="DEPENDENCY_RETRY_AFTER_SECONDS"):
        settings(dependency_retry_after_seconds=0)


@pytest.mark.parametrize("repeat", [1, 3])
def test_an_outage_keeps_the_connection_open(repeat: int) -> None:
    """As a 500 (test_errors), a 503 must not close the kept-alive upstream connection
    the gateway sends other clients' requests on."""
    with socket.socket() as nobody:
        nobody.bind(("127.0.0.1", 0))  # bound, never listening: connects are refused
        refused = f"redis://127.0.0.1:{nobody.getsockname()[1]}/0"
        with uvicorn_process(env={STOCK_REDIS_URL: refused}) as served:
            address = urlsplit(served.url)
            with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
                for _ in range(repeat):
                    status, headers, body = http_exchange(sock, "/api/things/3/stock")
                    assert status == 503
                    assert headers["content-type"] == PROBLEM_CONTENT_TYPE
                    assert headers["retry-after"] == "5"  # the default
                    assert "connection" not in headers  # not "close"
                    assert json.loads(body)["dependency"] == "redis"
                    after, _, thing = http_exchange(sock, "/api/things/4")
                    assert after == 200
                    assert json.loads(thing)["id"] == 4
    # One warning line per outage, no traceback.
    assert served.stdout.count("redis unavailable: ConnectionError") == repeat
    assert "Traceback" not in served.stdout


async def test_readiness_fails_during_an_outage_and_passes_after(
    cassandra: Cassandra,
) -> None:
    """The Cassandra readiness check the kit registers, through a cut proxy."""
    with tcp_proxy(cassandra.contact_points[0], cassandra.port, lifetime=120) as proxy:
        db = await CassandraSession.connect_async(
            contact_points=[proxy.host],
            port=proxy.port,
            local_dc=cassandra.local_dc,
            username=cassandra.username,
            password=cassandra.password,
            consistency="ONE",
            reconnect_max_delay=1.0,
        )
        try:
            app = build_app(readiness_checks={"cassandra": db.ready})
            async with serve(app) as client:
                assert (await client.get("/readyz")).status_code == 200
                proxy.cut()
                down = await client.get("/readyz")
                proxy.restore()
                deadline = asyncio.get_running_loop().time() + 15
                while (ready := await client.get("/readyz")).status_code != 200:
                    assert asyncio.get_running_loop().time() < deadline, ready.text
                    await asyncio.sleep(0.2)
        finally:
            db.close()
    assert down.status_code == 503
    assert down.json()["checks"]["cassandra"]["status"] == "fail"
