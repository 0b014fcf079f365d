"""Fixtures of the reviews tests: a keyspace and topic per module (dropped after it), an
auth service minting real tokens, and the module's reviews app run in-process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.redis import Redis
from productstore_reviews.app.core.config import ReviewsSettings
from productstore_reviews.app.data import migrations_dir
from productstore_reviews.app.main import create_app
from tests.catalog.conftest import JWKS_PATH, auth_server, tokens
from tests.catalog.support import AuthServer, asgi_client, wait_ready
from tests.reviews.support import Backing, EventLog, new_user_token, reviews_settings
from tests.support.keyspaces import migrated_keyspace, topics

__all__ = ["auth_server", "tokens"]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def backing(cassandra: Cassandra, kafka: Kafka) -> Iterator[Backing]:
    suffix = uuid.uuid4().hex[:12]
    orders_topic = f"reviews-orders-test-{suffix}"
    found = Backing(
        keyspace=f"reviews_{suffix}",
        events_topic=f"reviews-test-{suffix}",
        orders_topic=orders_topic,
    )
    with (
        migrated_keyspace(cassandra, found.keyspace, migrations_dir()),
        topics(kafka, [found.events_topic, orders_topic]),
    ):
        yield found


@pytest.fixture(scope="module")
def settings(
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    backing: Backing,
    auth_server: AuthServer,
) -> ReviewsSettings:
    return reviews_settings(
        cassandra, kafka, redis_server, backing, auth_server.url + JWKS_PATH, reports_to_queue=2
    )


@pytest.fixture(scope="module")
async def app(settings: ReviewsSettings) -> AsyncIterator[FastAPI]:
    running = create_app(settings)
    async with running.router.lifespan_context(running):
        await wait_ready(running)
        yield running


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def new_user(auth_server: AuthServer) -> Callable[[], str]:
    """Registers a user and returns its token (each review needs its own author)."""
    return lambda: new_user_token(auth_server.url)


@pytest.fixture(scope="module")
async def event_log(kafka: Kafka, backing: Backing) -> AsyncIterator[EventLog]:
    log = EventLog(kafka, backing.events_topic)
    await log.start()
    try:
        yield log
    finally:
        await log.stop()
