"""Fixtures of the orders tests: per module, keyspaces and topics of its own (dropped
after it), a real catalog and a real inventory served over HTTP on loopback (the
inventory consuming the module's order topic and publishing on its inventory topic),
devstack's payment sandbox, an auth service minting real tokens, and the module's
orders app run in-process with its lifespan (relay and consumer included). Modules
that kill services use `processes` instead: inventory and orders as real uvicorn
processes (tests/support/service_process.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.payments import PaymentsSandbox
from devstack.components.redis import Redis
from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.data import migrations_dir as catalog_migrations
from productstore_catalog.app.main import create_app as create_catalog_app
from productstore_contracts.services import INVENTORY, ORDERS
from productstore_inventory.app.data import migrations_dir as inventory_migrations
from productstore_inventory.app.main import create_app as create_inventory_app
from productstore_orders.app.core.config import OrdersSettings
from productstore_orders.app.data import migrations_dir as orders_migrations
from productstore_orders.app.main import create_app
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
from tests.orders.support import Backing, Callees, OrderEventLog, Shop, orders_settings
from tests.support.keyspaces import migrated_keyspace, topics
from tests.support.service_process import ServiceProcess, service_process

__all__ = ["auth_server", "tokens"]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def backing(cassandra: Cassandra, kafka: Kafka) -> Iterator[Backing]:
    suffix = uuid.uuid4().hex[:12]
    found = Backing(
        orders_keyspace=f"orders_{suffix}",
        inventory_keyspace=f"orders_inv_{suffix}",
        catalog_keyspace=f"orders_cat_{suffix}",
        orders_topic=f"orders-test-{suffix}",
        inventory_topic=f"orders-inv-test-{suffix}",
        catalog_topic=f"orders-cat-test-{suffix}",
        reviews_topic=f"orders-rev-test-{suffix}",
    )
    with (
        migrated_keyspace(cassandra, found.orders_keyspace, orders_migrations()),
        migrated_keyspace(cassandra, found.inventory_keyspace, inventory_migrations()),
        migrated_keyspace(cassandra, found.catalog_keyspace, catalog_migrations()),
        topics(kafka, found.topics),
    ):
        yield found


@pytest.fixture(scope="module")
def inventory_overrides() -> dict[str, object]:
    """Inventory settings a module changes (e.g. short holds); none by default."""
    return {}


@pytest.fixture(scope="module")
def callees(
    *,
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    backing: Backing,
    auth_server: AuthServer,
    inventory_overrides: dict[str, object],
) -> Iterator[Callees]:
    """The module's catalog and inventory, each a real app served by uvicorn."""
    jwks_url = auth_server.url + JWKS_PATH
    catalog = _catalog(cassandra, kafka, redis_server, backing, jwks_url)
    inventory = inventory_settings(
        cassandra,
        kafka,
        redis_server,
        InventoryBacking(
            keyspace=backing.inventory_keyspace,
            events_topic=backing.inventory_topic,
            orders_topic=backing.orders_topic,
        ),
        jwks_url,
        **inventory_overrides,
    )
    with (
        serve_in_thread(create_catalog_app(catalog)) as catalog_url,
        serve_in_thread(create_inventory_app(inventory)) as inventory_url,
    ):
        yield Callees(catalog_url=catalog_url, inventory_url=inventory_url)


def _catalog(
    cassandra: Cassandra, kafka: Kafka, redis_server: Redis, backing: Backing, jwks_url: str
) -> CatalogSettings:
    return catalog_settings(
        cassandra,
        redis_server,
        kafka,
        CatalogBacking(
            keyspace=backing.catalog_keyspace,
            topic=backing.catalog_topic,
            inventory_topic=backing.inventory_topic,
            reviews_topic=backing.reviews_topic,
        ),
        jwks_url,
    )


@dataclass(frozen=True)
class Processes:
    """The module's catalog (a thread), inventory and orders (processes a test may kill)."""

    callees: Callees
    inventory: ServiceProcess
    orders: ServiceProcess


@pytest.fixture(scope="module")
def processes(
    *,
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    payments_sandbox: PaymentsSandbox,
    backing: Backing,
    auth_server: AuthServer,
    inventory_overrides: dict[str, object],
    overrides: dict[str, object],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Processes]:
    """Inventory and orders as devstack runs them (uvicorn processes), on the module's
    keyspaces and topics; their logs in a temporary folder."""
    jwks_url = auth_server.url + JWKS_PATH
    logs = tmp_path_factory.mktemp("service-logs")
    inventory = inventory_settings(
        cassandra,
        kafka,
        redis_server,
        InventoryBacking(
            keyspace=backing.inventory_keyspace,
            events_topic=backing.inventory_topic,
            orders_topic=backing.orders_topic,
        ),
        jwks_url,
        **inventory_overrides,
    )
    with (
        serve_in_thread(
            create_catalog_app(_catalog(cassandra, kafka, redis_server, backing, jwks_url))
        ) as catalog_url,
        service_process("inventory", INVENTORY.app_factory, inventory, logs) as inventory_process,
    ):
        callees = Callees(catalog_url=catalog_url, inventory_url=inventory_process.url)
        orders = orders_settings(
            cassandra=cassandra,
            kafka=kafka,
            redis_server=redis_server,
            payments=payments_sandbox,
            backing=backing,
            callees=callees,
            jwks_url=jwks_url,
            **overrides,
        )
        with service_process("orders", ORDERS.app_factory, orders, logs) as orders_process:
            yield Processes(callees, inventory_process, orders_process)


@pytest.fixture(scope="module")
def process_shop(processes: Processes, tokens: Tokens) -> Shop:
    """The module's products, their stock in the inventory process (`processes`)."""
    return Shop(processes.callees, tokens.admin)


@pytest.fixture(scope="module")
def overrides() -> dict[str, object]:
    """Orders settings a module changes; none by default."""
    return {}


@pytest.fixture(scope="module")
def settings(
    *,
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    payments_sandbox: PaymentsSandbox,
    backing: Backing,
    callees: Callees,
    auth_server: AuthServer,
    overrides: dict[str, object],
) -> OrdersSettings:
    return orders_settings(
        cassandra=cassandra,
        kafka=kafka,
        redis_server=redis_server,
        payments=payments_sandbox,
        backing=backing,
        callees=callees,
        jwks_url=auth_server.url + JWKS_PATH,
        **overrides,
    )


@pytest.fixture(scope="module")
async def app(settings: OrdersSettings) -> AsyncIterator[FastAPI]:
    running = create_app(settings)
    async with running.router.lifespan_context(running):
        await wait_ready(running)
        yield running


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def shop(callees: Callees, tokens: Tokens) -> Shop:
    return Shop(callees, tokens.admin)


@pytest.fixture(scope="module")
async def order_log(kafka: Kafka, backing: Backing) -> AsyncIterator[OrderEventLog]:
    log = OrderEventLog(kafka, backing.orders_topic)
    await log.start()
    try:
        yield log
    finally:
        await log.stop()
