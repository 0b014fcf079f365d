"""The catalog while Kafka is unreachable: writes still succeed (their events wait in
the outbox, written in the same Cassandra batch), and the relay publishes them once
Kafka is reachable again, without a restart.

The catalog bootstraps through a loopback proxy of this module's own, cut from the
start: the relay and the search feed cannot reach Kafka at all (once they can, the
broker's advertised address takes over, so the proxy cannot cut an established
client; devstack's Kafka is never stopped).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.redis import Redis
from productstore_catalog.app.core.config import CatalogSettings
from productstore_common.telemetry.metrics import metrics_of
from tests.catalog.conftest import JWKS_PATH
from tests.catalog.support import (
    AuthServer,
    Backing,
    Tokens,
    catalog_settings,
    create_category,
    create_product,
)
from tests.support.outages import outage_count
from tests.support.proxy import TcpProxy, tcp_proxy

pytestmark = pytest.mark.anyio

WRITES = 3
# The relay backs off up to 10 s between attempts to connect.
PUBLISH_BOUND = 40.0


@pytest.fixture(scope="module")
def kafka_proxy(kafka: Kafka) -> Iterator[TcpProxy]:
    host, port = kafka.bootstrap_servers.split(",")[0].split(":")
    with tcp_proxy(host, int(port), lifetime=600) as proxy:
        proxy.cut()  # before the catalog starts: it never reaches Kafka until restored
        yield proxy


@pytest.fixture(scope="module")
def settings(  # noqa: PLR0917 (fixtures)
    cassandra: Cassandra,
    redis_server: Redis,
    kafka: Kafka,
    backing: Backing,
    auth_server: AuthServer,
    kafka_proxy: TcpProxy,
) -> CatalogSettings:
    return catalog_settings(
        cassandra,
        redis_server,
        kafka,
        backing,
        auth_server.url + JWKS_PATH,
        kafka_bootstrap_servers=kafka_proxy.address,
        # Load the index without waiting for the feed that cannot connect.
        search_consumer_start_timeout_seconds=1.0,
    )


def _sample(app: FastAPI, name: str, **labels: str) -> float:
    return metrics_of(app).registry.get_sample_value(name, labels) or 0.0


async def test_writes_succeed_while_kafka_is_down_and_their_events_follow(
    app: FastAPI,
    client: httpx.AsyncClient,
    tokens: Tokens,
    settings: CatalogSettings,
    kafka_proxy: TcpProxy,
) -> None:
    published = "outbox_events_published_total"
    slug = await create_category(client, tokens.admin)
    products = [await create_product(client, tokens.admin, slug) for _ in range(WRITES)]
    read = await client.get(f"/api/products/{products[0]['id']}")
    assert read.status_code == 200
    assert _sample(app, published, topic=settings.events_topic) == 0
    assert outage_count(app, "kafka") == 0

    kafka_proxy.restore()
    started = time.monotonic()
    while _sample(app, published, topic=settings.events_topic) < WRITES:
        assert time.monotonic() - started < PUBLISH_BOUND, "the outbox was not relayed"
        await asyncio.sleep(0.2)
    print(  # noqa: T201
        f"events published {time.monotonic() - started:.1f} s after Kafka became reachable"
    )
    assert _sample(app, "outbox_publish_errors_total", error="KafkaConnectionError") > 0
