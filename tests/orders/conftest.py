"""Fixtures of the orders tests: per module, keyspaces and topics of its own (dropped
after it), a real catalog and a real inventory served over HTTP on loopback (the
inventory consuming the module's order topic and publishing on its inventory topic),
devstack's payment sandbox, an auth service minting real tokens, and the module's
orders app run in-process with its lifespan (relay and consumer included). Modules
that kill services use `processes` instead: inventory and orders as real uvicorn
processes (tests/support/service_process.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.payments import PaymentsSandbox
from devstack.components.redis import Redis
from productstore_catalog.app.main import create_app as create_catalog_app
from productstore_contracts.services import INVENTORY, ORDERS
from productstore_orders.app.core.config import OrdersSettings
from productstore_orders.app.main import create_app
from tests.catalog.conftest import JWKS_PATH, auth_server, tokens
from tests.catalog.support import (
    AuthServer,
    Tokens,
    asgi_client,
    serve_in_thread,
    wait_ready,
)
from tests.orders.support import (
    Backing,
    Callees,
    OrderEventLog,
    Shop,
    backing_made,
    catalog_of,
    inventory_of,
    new_backing,
    orders_settings,
    served_callees,
)
from tests.support.service_process import ServiceProcess, service_process

__all__ = ["auth_server", "tokens"]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def backing(cassandra: Cassandra, kafka: Kafka) -> Iterator[Backing]:
    with backing_made(cassandra, kafka, new_backing("orders")) as made:
        yield made


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
    with served_callees(
        cassandra, kafka, redis_server, backing, jwks_url, **inventory_overrides
    ) as served:
        yield served


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
    inventory = inventory_of(
        cassandra, kafka, redis_server, backing, jwks_url, **inventory_overrides
    )
    with (
        serve_in_thread(
            create_catalog_app(catalog_of(cassandra, kafka, redis_server, backing, jwks_url))
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
