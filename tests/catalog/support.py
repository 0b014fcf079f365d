"""What the catalog tests share: settings on devstack, in-process apps, an auth server."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import redis
import uvicorn
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.redis import Redis
from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.main import create_app

# Re-exported (mypy's explicit form) for the test modules that import them from here.
from tests.support.problems import assert_problem as assert_problem  # noqa: PLC0414
from tests.support.problems import bearer as bearer  # noqa: PLC0414

CURSOR_KEY = "catalog-tests-cursor-key-0123456789abcdef"
SERVER_START_TIMEOUT = 120.0


@dataclass(frozen=True)
class Backing:
    """The session's keyspace and topics (migrated / created once, dropped at the end):
    the catalog's own, the inventory topic its `in_stock` follows and the reviews topic
    its `rating` follows."""

    keyspace: str
    topic: str
    inventory_topic: str
    reviews_topic: str


@dataclass(frozen=True)
class AuthServer:
    url: str
    admin_email: str


@dataclass(frozen=True)
class Tokens:
    admin: str
    user: str


def catalog_settings(
    cassandra: Cassandra,
    redis_server: Redis,
    kafka: Kafka,
    backing: Backing,
    jwks_url: str,
    **overrides: Any,
) -> CatalogSettings:
    """A catalog on devstack with the session's keyspace and topic and its own Redis prefix."""
    values: dict[str, Any] = {
        "environment": "test",
        "cassandra_contact_points": cassandra.contact_points,
        "cassandra_port": cassandra.port,
        # devstack's superuser: the session's keyspace is made by the tests.
        "cassandra_username": cassandra.username,
        "cassandra_password": cassandra.password,
        "cassandra_local_dc": cassandra.local_dc,
        "cassandra_keyspace": backing.keyspace,
        "cassandra_consistency": "ONE",
        "migrate_on_start": False,
        "redis_url": redis_server.env()["REDIS_URL"],
        "redis_key_prefix": f"catalog-test-{uuid.uuid4().hex[:12]}",
        "kafka_bootstrap_servers": kafka.bootstrap_servers,
        "events_topic": backing.topic,
        "inventory_topic": backing.inventory_topic,
        "reviews_topic": backing.reviews_topic,
        "ratings_consumer_group": f"catalog-ratings-test-{uuid.uuid4().hex[:12]}",
        # Shared by the replicas of one settings object, as by a deployment's.
        "stock_consumer_group": f"catalog-stock-test-{uuid.uuid4().hex[:12]}",
        "create_topics": False,
        "jwt_jwks_url": jwks_url,
        "search_cursor_key": CURSOR_KEY,
    }
    values.update(overrides)
    return CatalogSettings(**values)


@asynccontextmanager
async def running_app(settings: CatalogSettings) -> AsyncIterator[FastAPI]:
    """The app with its lifespan entered, as uvicorn would run it, and its index loaded."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await wait_ready(app)
        yield app


async def wait_ready(app: FastAPI, timeout: float = 90.0) -> None:
    """Until /readyz answers 200 (the search index is loaded); bounded."""
    async with asgi_client(app) as client:
        deadline = time.monotonic() + timeout
        while True:
            response = await client.get("/readyz")
            if response.status_code == 200:
                return
            assert time.monotonic() < deadline, f"catalog not ready: {response.text}"
            await asyncio.sleep(0.2)


def asgi_client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://catalog.test")


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port in a thread; yields its base URL."""
    # log_config=None: the app's JSON logging stays as create_app configured it.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not server.started:
        assert thread.is_alive(), "the server thread died at start-up (see the log)"
        assert time.monotonic() < deadline, "the server did not start in time"
        time.sleep(0.1)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def unique_slug(tag: str = "cat") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def product_body(slug: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Trail runner",
        "description": "A light shoe for muddy trails.",
        "category": slug,
        "price": "89.90",
        "currency": "EUR",
        "attributes": {"colour": "blue"},
        "image_urls": ["https://img.example.com/p/1.jpg"],
        "in_stock": True,
    }
    body.update(overrides)
    return body


async def create_category(client: httpx.AsyncClient, admin: str, slug: str | None = None) -> str:
    slug = slug or unique_slug()
    response = await client.post(
        "/api/categories", json={"slug": slug, "name": slug.title()}, headers=bearer(admin)
    )
    assert response.status_code == 201, response.text
    return slug


async def create_product(
    client: httpx.AsyncClient, admin: str, slug: str, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/products", json=product_body(slug, **overrides), headers=bearer(admin)
    )
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


def forget_searches_without_results(redis_server: Redis, settings: CatalogSettings) -> int:
    """Delete the days of searches without results that a catalog of `settings` recorded
    (they would otherwise expire after days in the shared Redis); how many there were."""
    with redis.Redis.from_url(redis_server.env()["REDIS_URL"]) as client:
        keys = list(client.scan_iter(f"{settings.redis_key_prefix}:search:no-results:*"))
        if keys:
            client.delete(*keys)
    return len(keys)
