"""The catalog's `in_stock` driven by a real inventory service, run in-process on
devstack beside it: admin stock writes and order reservations move the product
document and both catalog replicas' search within the stated bound."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.redis import Redis
from productstore_catalog.app.core.config import CatalogSettings
from productstore_contracts.events.orders import OrderCancelled
from productstore_inventory.app.data import migrations_dir as inventory_migrations
from productstore_inventory.app.main import create_app as create_inventory_app
from tests.catalog.conftest import JWKS_PATH
from tests.catalog.services.test_stock import (
    DEADLINE_SECONDS,
    STOCK_BOUND_SECONDS,
    wait_everywhere,
)
from tests.catalog.support import (
    AuthServer,
    Backing,
    Tokens,
    asgi_client,
    bearer,
    create_category,
    create_product,
    running_app,
    wait_ready,
)
from tests.inventory.support import Backing as InventoryBacking
from tests.inventory.support import inventory_settings, placed, send_order_events
from tests.support.keyspaces import migrated_keyspace, topics

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def inventory_backing(
    cassandra: Cassandra, kafka: Kafka, backing: Backing
) -> Iterator[InventoryBacking]:
    """Inventory's keyspace and orders topic; its events go to the topic the catalog reads."""
    suffix = uuid.uuid4().hex[:12]
    found = InventoryBacking(
        keyspace=f"inventory_{suffix}",
        events_topic=backing.inventory_topic,
        orders_topic=f"catalog-test-orders-{suffix}",
    )
    with (
        migrated_keyspace(cassandra, found.keyspace, inventory_migrations()),
        topics(kafka, [found.orders_topic]),
    ):
        yield found


@pytest.fixture(scope="module")
async def inventory(
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    inventory_backing: InventoryBacking,
    auth_server: AuthServer,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = inventory_settings(
        cassandra, kafka, redis_server, inventory_backing, auth_server.url + JWKS_PATH
    )
    running = create_inventory_app(settings)
    async with running.router.lifespan_context(running):
        await wait_ready(running)
        async with asgi_client(running) as client:
            yield client


@pytest.fixture(scope="module")
async def replica_b(settings: CatalogSettings, app: FastAPI) -> AsyncIterator[FastAPI]:
    async with running_app(settings) as second:
        yield second


async def _set_stock(
    inventory: httpx.AsyncClient, admin: str, product_id: str, on_hand: int
) -> None:
    response = await inventory.put(
        f"/api/inventory/{product_id}", json={"on_hand": on_hand}, headers=bearer(admin)
    )
    assert response.status_code == 200, response.text


async def test_stock_writes_and_reservations_move_in_stock(
    *,
    app: FastAPI,
    replica_b: FastAPI,
    client: httpx.AsyncClient,
    inventory: httpx.AsyncClient,
    tokens: Tokens,
    kafka: Kafka,
    inventory_backing: InventoryBacking,
) -> None:
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug, in_stock=False)
    replicas = [app, replica_b]
    # The first level may wait for the consumers joining their groups.
    await _set_stock(inventory, tokens.admin, product["id"], 2)
    await wait_everywhere(replicas, product, True, DEADLINE_SECONDS)

    # Each later change within the bound (bench/catalog_stock_lag.py measures the lag).
    for on_hand in (0, 5, 0, 1):
        await _set_stock(inventory, tokens.admin, product["id"], on_hand)
        await wait_everywhere(replicas, product, on_hand > 0, STOCK_BOUND_SECONDS)

    # An order holding the last unit takes the product out of stock; cancelled, the
    # hold is released and it is back (inventory's consumer, then the catalog's).
    order = uuid.uuid4()
    product_id = uuid.UUID(product["id"])
    await send_order_events(
        kafka, inventory_backing.orders_topic, [(placed(order, [(product_id, 1)]), None)]
    )
    await wait_everywhere(replicas, product, False, DEADLINE_SECONDS)
    await send_order_events(
        kafka,
        inventory_backing.orders_topic,
        [(OrderCancelled(order_id=order, reason="customer", paid=False), None)],
    )
    await wait_everywhere(replicas, product, True, DEADLINE_SECONDS)

    refused = await client.patch(
        f"/api/products/{product['id']}", json={"in_stock": False}, headers=bearer(tokens.admin)
    )
    assert refused.status_code == 409, refused.text


async def test_a_product_without_stock_keeps_what_the_admin_set(
    app: FastAPI, client: httpx.AsyncClient, inventory: httpx.AsyncClient, tokens: Tokens
) -> None:
    slug = await create_category(client, tokens.admin)
    untouched = await create_product(client, tokens.admin, slug, in_stock=False)
    stocked = await create_product(client, tokens.admin, slug, in_stock=False)
    await _set_stock(inventory, tokens.admin, stocked["id"], 3)
    # Once the neighbour's level is in, the consumer has passed this moment too.
    await wait_everywhere([app], stocked, True, DEADLINE_SECONDS)
    document: dict[str, Any] = (await client.get(f"/api/products/{untouched['id']}")).json()
    assert document == untouched
