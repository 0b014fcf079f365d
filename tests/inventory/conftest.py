"""Fixtures of the inventory tests: one keyspace and pair of topics per test module
(dropped after it), an auth service minting real tokens, and the module's inventory
app run in-process with its lifespan (relay, consumer and sweeper included)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.redis import Redis
from productstore_inventory.app.core.config import InventorySettings
from productstore_inventory.app.data import migrations_dir
from productstore_inventory.app.main import create_app
from tests.catalog.conftest import (
    JWKS_PATH,
    auth_server,
    tokens,
)
from tests.catalog.support import AuthServer, asgi_client, wait_ready
from tests.inventory.support import Backing, EventLog, inventory_settings
from tests.support.keyspaces import migrated_keyspace, topics

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
    with (
        migrated_keyspace(cassandra, found.keyspace, migrations_dir()),
        topics(kafka, [found.events_topic, found.orders_topic]),
    ):
        yield found


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
