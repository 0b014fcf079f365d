"""Fixtures of the inventory tests: one keyspace and pair of topics per test module
(dropped after it), an auth service minting real tokens, and the module's inventory
app run in-process with its lifespan (relay, consumer and sweeper included)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from cassandra.query import SimpleStatement
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.redis import Redis
from productstore_common.cassandra import CassandraSession, Migrator
from productstore_common.events import dead_letter_topic, ensure_topics
from productstore_inventory.app.core.config import InventorySettings
from productstore_inventory.app.data import migrations_dir
from productstore_inventory.app.main import create_app
from tests.catalog.conftest import (
    JWKS_PATH,
    _delete_topics,
    auth_server,
    tokens,
)
from tests.catalog.support import AuthServer, asgi_client, wait_ready
from tests.inventory.support import Backing, EventLog, inventory_settings

__all__ = ["auth_server", "tokens"]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def backing(cassandra: Cassandra, kafka: Kafka) -> Iterator[Backing]:
    suffix = uuid.uuid4().hex[:12]
    found = Backing(
        keyspace=f"inventory_{suffix}",
        events_topic=f"inventory-test-{suffix}",
        orders_topic=f"orders-test-{suffix}",
    )
    topics = [
        name
        for topic in (found.events_topic, found.orders_topic)
        for name in (topic, dead_letter_topic(topic))
    ]
    db = CassandraSession.connect(
        contact_points=cassandra.contact_points,
        port=cassandra.port,
        local_dc=cassandra.local_dc,
        username=cassandra.username,
        password=cassandra.password,
        consistency="ONE",
    )
    try:
        replication = {"class": "SimpleStrategy", "replication_factor": 1}
        Migrator(db, found.keyspace, migrations_dir(), replication=replication).migrate()
        asyncio.run(ensure_topics(kafka.bootstrap_servers, topics))
        yield found
    finally:
        db.execute(SimpleStatement(f"DROP KEYSPACE IF EXISTS {found.keyspace}"), timeout=60)
        db.close()
        asyncio.run(_delete_topics(kafka.bootstrap_servers, topics))


@pytest.fixture(scope="module")
def overrides() -> dict[str, object]:
    """Settings a module changes (e.g. short holds); none by default."""
    return {}


@pytest.fixture(scope="module")
def settings(
    *,
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    backing: Backing,
    auth_server: AuthServer,
    overrides: dict[str, object],
) -> InventorySettings:
    return inventory_settings(
        cassandra, kafka, redis_server, backing, auth_server.url + JWKS_PATH, **overrides
    )


@pytest.fixture(scope="module")
async def app(settings: InventorySettings) -> AsyncIterator[FastAPI]:
    running = create_app(settings)
    async with running.router.lifespan_context(running):
        await wait_ready(running)
        yield running


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
async def event_log(kafka: Kafka, backing: Backing) -> AsyncIterator[EventLog]:
    log = EventLog(kafka, backing.events_topic)
    await log.start()
    try:
        yield log
    finally:
        await log.stop()
