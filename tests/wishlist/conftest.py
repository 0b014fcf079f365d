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
from productstore_catalog.app.data import migrations_dir as catalog_migrations
from productstore_catalog.app.main import create_app as create_catalog_app
from productstore_inventory.app.data import migrations_dir as inventory_migrations
from productstore_inventory.app.main import create_app as create_inventory_app
from productstore_orders.app.data import migrations_dir as orders_migrations
from productstore_orders.app.main import create_app as create_orders_app
from productstore_wishlist.app.core.config import WishlistSettings
from productstore_wishlist.app.data import migrations_dir
from productstore_wishlist.app.main import create_app
from tests.catalog.conftest import JWKS_PATH, auth_server, tokens
from tests.catalog.support import (
    AuthServer,
    Tokens,
    asgi_client,
    catalog_settings,
    serve_in_thread,
    wait_ready,
)
from tests.catalog.support import Backing as CatalogBacking
from tests.inventory.support import Backing as InventoryBacking
from tests.inventory.support import inventory_settings
from tests.orders.support import Backing as OrdersBacking
from tests.orders.support import Callees, Shop, orders_settings
from tests.support.keyspaces import migrated_keyspace, topics
from tests.wishlist.support import Backing, Neighbours, NoticeLog, new_user, wishlist_settings

__all__ = ["auth_server", "tokens"]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def backing(cassandra: Cassandra, kafka: Kafka) -> Iterator[Backing]:
    suffix = uuid.uuid4().hex[:12]
    neighbours = OrdersBacking(
        orders_keyspace=f"wl_ord_{suffix}",
        inventory_keyspace=f"wl_inv_{suffix}",
        catalog_keyspace=f"wl_cat_{suffix}",
        orders_topic=f"wl-ord-test-{suffix}",
        inventory_topic=f"wl-inv-test-{suffix}",
        catalog_topic=f"wl-cat-test-{suffix}",
        reviews_topic=f"wl-rev-test-{suffix}",
    )
    found = Backing(
        keyspace=f"wishlist_{suffix}",
        events_topic=f"wishlist-test-{suffix}",
        neighbours=neighbours,
    )
    with (
        migrated_keyspace(cassandra, found.keyspace, migrations_dir()),
        migrated_keyspace(cassandra, neighbours.orders_keyspace, orders_migrations()),
        migrated_keyspace(cassandra, neighbours.inventory_keyspace, inventory_migrations()),
        migrated_keyspace(cassandra, neighbours.catalog_keyspace, catalog_migrations()),
        topics(kafka, [found.events_topic, *neighbours.topics]),
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
    catalog = catalog_settings(
        cassandra,
        redis_server,
        kafka,
        CatalogBacking(
            keyspace=around.catalog_keyspace,
            topic=around.catalog_topic,
            inventory_topic=around.inventory_topic,
            reviews_topic=around.reviews_topic,
        ),
        jwks_url,
    )
    inventory = inventory_settings(
        cassandra,
        kafka,
        redis_server,
        InventoryBacking(
            keyspace=around.inventory_keyspace,
            events_topic=around.inventory_topic,
            orders_topic=around.orders_topic,
        ),
        jwks_url,
    )
    with (
        serve_in_thread(create_catalog_app(catalog)) as catalog_url,
        serve_in_thread(create_inventory_app(inventory)) as inventory_url,
    ):
        orders = orders_settings(
            cassandra=cassandra,
            kafka=kafka,
            redis_server=redis_server,
            payments=payments_sandbox,
            backing=around,
            callees=Callees(catalog_url=catalog_url, inventory_url=inventory_url),
            jwks_url=jwks_url,
            # Carts only: no order is placed here.
            consume_inventory=False,
        )
        with serve_in_thread(create_orders_app(orders)) as orders_url:
            yield Neighbours(
                catalog_url=catalog_url, inventory_url=inventory_url, orders_url=orders_url
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
