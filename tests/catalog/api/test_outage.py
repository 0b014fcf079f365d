"""The catalog while Cassandra is unreachable: writes (and reads the cache cannot
answer) are 503 problem+json with Retry-After, cached reads and search keep
answering, and it recovers without a restart.

The service reaches devstack's Cassandra through a loopback proxy of this module's
own (tests.support.proxy), cut to make the outage: the shared server is never
stopped. Kafka is not cut here: a write never waits for it (the outbox row is
written with the product in one Cassandra batch and the relay publishes later;
tests/common/events/test_kafka_outage.py shows nothing is lost meanwhile).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.redis import Redis
from productstore_catalog.app.core.config import CatalogSettings
from tests.catalog.conftest import JWKS_PATH
from tests.catalog.support import (
    AuthServer,
    Backing,
    Tokens,
    bearer,
    catalog_settings,
    create_category,
    create_product,
    product_body,
)
from tests.support.outages import assert_unavailable, outage_count, seconds_until
from tests.support.proxy import TcpProxy, tcp_proxy

pytestmark = pytest.mark.anyio

# As in tests/auth/api/test_outage.py: a tight reconnection cap, an outage long
# enough for the driver's delays to reach it, and the recovery bound it gives.
RECONNECT_MAX_DELAY = 2.0
OUTAGE_SECONDS = 6.0
RECOVERY_BOUND = RECONNECT_MAX_DELAY + 6.0
SEARCH = "/api/products/search"


@pytest.fixture(scope="module")
def cassandra_proxy(cassandra: Cassandra) -> Iterator[TcpProxy]:
    with tcp_proxy(cassandra.contact_points[0], cassandra.port, lifetime=600) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def settings(  # noqa: PLR0917 (fixtures)
    cassandra: Cassandra,
    redis_server: Redis,
    kafka: Kafka,
    backing: Backing,
    auth_server: AuthServer,
    cassandra_proxy: TcpProxy,
) -> CatalogSettings:
    return catalog_settings(
        cassandra,
        redis_server,
        kafka,
        backing,
        auth_server.url + JWKS_PATH,
        cassandra_port=cassandra_proxy.port,
        cassandra_reconnect_max_delay_seconds=RECONNECT_MAX_DELAY,
    )


async def test_writes_are_503_while_cassandra_is_down_cached_reads_and_search_go_on(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens, cassandra_proxy: TcpProxy
) -> None:
    slug = await create_category(client, tokens.admin)
    name = f"Outage kettle {uuid.uuid4().hex[:8]}"
    product = await create_product(client, tokens.admin, slug, name=name)
    cached = await client.get(f"/api/products/{product['id']}")
    assert cached.status_code == 200
    before = outage_count(app, "cassandra")

    async def write() -> httpx.Response:
        return await client.post(
            "/api/products", json=product_body(slug), headers=bearer(tokens.admin)
        )

    cassandra_proxy.cut()
    try:
        creating = await write()
        updating = await client.patch(
            f"/api/products/{product['id']}",
            json={"price": "10.00"},
            headers=bearer(tokens.admin),
        )
        # Answered from Redis and from the in-memory index: no Cassandra needed.
        read = await client.get(f"/api/products/{product['id']}")
        search = await client.get(SEARCH, params={"q": name, "category": slug})
        # Not in the cache: the route reads Cassandra.
        uncached = await client.get(f"/api/products/{uuid.uuid4()}")
        readiness = await client.get("/readyz")
        await asyncio.sleep(OUTAGE_SECONDS)
        still_down = await write()
    finally:
        cassandra_proxy.restore()
    recovery, failed = await seconds_until(write, 201, timeout=RECOVERY_BOUND)
    print(f"catalog writes answered again {recovery:.2f} s after Cassandra came back")  # noqa: T201

    body = assert_unavailable(creating, "cassandra")
    assert body["detail"].startswith("Cassandra is unavailable")
    assert_unavailable(updating, "cassandra")
    assert_unavailable(uncached, "cassandra")
    assert_unavailable(still_down, "cassandra")
    assert read.status_code == 200
    assert read.content == cached.content
    assert search.status_code == 200, search.text
    assert [item["id"] for item in search.json()["items"]] == [product["id"]]
    assert readiness.status_code == 503
    assert readiness.json()["checks"]["cassandra"]["status"] == "fail"
    assert outage_count(app, "cassandra") == before + 4 + failed
    assert outage_count(app, "redis") == 0
    assert (await client.get("/readyz")).status_code == 200
