"""Fixtures of the wishlist tests: per module, keyspaces and topics of its own (dropped
after it), a real catalog, inventory and orders served over HTTP on loopback, an auth
service minting real tokens, and the module's wishlist app run in-process with its
lifespan (relay, consumers and the wave check included)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.payments import PaymentsSandbox
from devstack.components.redis import Redis
from productstore_orders.app.main import create_app as create_orders_app
from productstore_wishlist.app.core.config import WishlistSettings
from productstore_wishlist.app.data import migrations_dir
from productstore_wishlist.app.main import create_app
from tests.catalog.conftest import JWKS_PATH, auth_server, tokens
from tests.catalog.support import (
    AuthServer,
    Tokens,
    asgi_client,
    serve_in_thread,
    wait_ready,
)
from tests.orders.support import (
    Callees,
    Shop,
    backing_made,
    new_backing,
    orders_settings,
    served_callees,
)
from tests.wishlist.support import Backing, Neighbours, NoticeLog, new_user, wishlist_settings

__all__ = ["auth_server", "tokens"]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def backing(cassandra: Cassandra, kafka: Kafka) -> Iterator[Backing]:
    neighbours = new_backing("wl")
    found = Backing(
        keyspace=f"wishlist_{uuid.uuid4().hex[:12]}",
        events_topic=f"wishlist-test-{uuid.uuid4().hex[:12]}",
        neighbours=neighbours,
    )
    with backing_made(
        cassandra,
        kafka,
        neighbours,
        keyspaces={found.keyspace: migrations_dir()},
        topics_too=[found.events_topic],
    ):
        yield found


@pytest.fixture(scope="module")
def neighbours(
    *,
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    payments_sandbox: PaymentsSandbox,
    backing: Backing,
    auth_server: AuthServer,
) -> Iterator[Neighbours]:
    """The module's catalog, inventory and orders, each a real app served by uvicorn."""
    jwks_url = auth_server.url + JWKS_PATH
    around = backing.neighbours
    with served_callees(cassandra, kafka, redis_server, around, jwks_url) as callees:
        orders = orders_settings(
            cassandra=cassandra,
            kafka=kafka,
            redis_server=redis_server,
            payments=payments_sandbox,
            backing=around,
            callees=callees,
            jwks_url=jwks_url,
            # Carts only: no order is placed here.
            consume_inventory=False,
        )
        with serve_in_thread(create_orders_app(orders)) as orders_url:
            yield Neighbours(
                catalog_url=callees.catalog_url,
                inventory_url=callees.inventory_url,
                orders_url=orders_url,
            )


@pytest.fixture(scope="module")
def overrides() -> dict[str, object]:
    """Wishlist settings a module changes; none by default."""
    return {}


@pytest.fixture(scope="module")
def settings(
    *,
    cassandra: Cassandra,
    kafka: Kafka,
    backing: Backing,
    neighbours: Neighbours,
    auth_server: AuthServer,
    overrides: dict[str, object],
) -> WishlistSettings:
    return wishlist_settings(
        cassandra, kafka, backing, neighbours, auth_server.url + JWKS_PATH, **overrides
    )


@pytest.fixture(scope="module")
async def app(settings: WishlistSettings) -> AsyncIterator[FastAPI]:
    running = create_app(settings)
    async with running.router.lifespan_context(running):
        await wait_ready(running)
        yield running


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def shop(neighbours: Neighbours, tokens: Tokens) -> Shop:
    """Products in the module's catalog and stock in its inventory, made by an admin."""
    return Shop(
        Callees(catalog_url=neighbours.catalog_url, inventory_url=neighbours.inventory_url),
        tokens.admin,
    )


@pytest.fixture(scope="module")
def users(auth_server: AuthServer) -> Callable[[], tuple[str, uuid.UUID]]:
    """Registers a user: its token and id."""
    return lambda: new_user(auth_server.url)


@pytest.fixture(scope="module")
async def notice_log(kafka: Kafka, backing: Backing) -> AsyncIterator[NoticeLog]:
    log = NoticeLog(kafka, backing.events_topic)
    await log.start()
    try:
        yield log
    finally:
        await log.stop()
