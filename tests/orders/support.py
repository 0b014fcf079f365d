"""What the orders tests share: settings on devstack, and the services orders works
with, each real and each the module's own: a catalog and an inventory served over
HTTP on loopback (inventory consuming the module's order topic), the payment sandbox
of devstack."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.payments import PaymentsSandbox
from devstack.components.redis import Redis
from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.data import migrations_dir as catalog_migrations
from productstore_catalog.app.main import create_app as create_catalog_app
from productstore_contracts.events.orders import ORDER_EVENTS
from productstore_inventory.app.core.config import InventorySettings
from productstore_inventory.app.data import migrations_dir as inventory_migrations
from productstore_inventory.app.main import create_app as create_inventory_app
from productstore_orders.app.core.config import OrdersSettings
from productstore_orders.app.data import migrations_dir as orders_migrations
from tests.catalog.support import Backing as CatalogBacking
from tests.catalog.support import catalog_settings, serve_in_thread
from tests.inventory.support import Backing as InventoryBacking
from tests.inventory.support import inventory_settings
from tests.support.event_log import TopicLog
from tests.support.keyspaces import migrated_keyspace, topics

# Re-exported (mypy's explicit form) for the test modules that import them from here.
from tests.support.problems import assert_problem as assert_problem  # noqa: PLC0414
from tests.support.problems import bearer as bearer  # noqa: PLC0414

DEADLINE_SECONDS = 60.0
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


@dataclass(frozen=True)
class Backing:
    """A test module's keyspaces and topics (created for it, dropped after it)."""

    orders_keyspace: str
    inventory_keyspace: str
    catalog_keyspace: str
    orders_topic: str
    inventory_topic: str
    catalog_topic: str
    # The catalog follows reviews' ratings too; nothing publishes here in these tests.
    reviews_topic: str

    @property
    def keyspaces(self) -> tuple[str, ...]:
        return (self.orders_keyspace, self.inventory_keyspace, self.catalog_keyspace)

    @property
    def topics(self) -> tuple[str, ...]:
        return (self.orders_topic, self.inventory_topic, self.catalog_topic, self.reviews_topic)


@dataclass(frozen=True)
class Callees:
    """Where the module's catalog and inventory answer."""

    catalog_url: str
    inventory_url: str


def new_backing(prefix: str) -> Backing:
    """Keyspaces and topics of a module's own (e.g. ``orders_ord_<id>``)."""
    suffix = uuid.uuid4().hex[:12]
    return Backing(
        orders_keyspace=f"{prefix}_ord_{suffix}",
        inventory_keyspace=f"{prefix}_inv_{suffix}",
        catalog_keyspace=f"{prefix}_cat_{suffix}",
        orders_topic=f"{prefix}-ord-test-{suffix}",
        inventory_topic=f"{prefix}-inv-test-{suffix}",
        catalog_topic=f"{prefix}-cat-test-{suffix}",
        reviews_topic=f"{prefix}-rev-test-{suffix}",
    )


@contextlib.contextmanager
def backing_made(
    cassandra: Cassandra,
    kafka: Kafka,
    backing: Backing,
    *,
    keyspaces: Mapping[str, Path] | None = None,
    topics_too: Sequence[str] = (),
) -> Iterator[Backing]:
    """The backing's keyspaces migrated and its topics made (with ``keyspaces`` and
    ``topics_too`` of the caller's own), all dropped after."""
    every = {
        backing.orders_keyspace: orders_migrations(),
        backing.inventory_keyspace: inventory_migrations(),
        backing.catalog_keyspace: catalog_migrations(),
        **(keyspaces or {}),
    }
    with contextlib.ExitStack() as stack:
        for keyspace, migrations in every.items():
            stack.enter_context(migrated_keyspace(cassandra, keyspace, migrations))
        stack.enter_context(topics(kafka, [*backing.topics, *topics_too]))
        yield backing


def catalog_of(
    cassandra: Cassandra, kafka: Kafka, redis_server: Redis, backing: Backing, jwks_url: str
) -> CatalogSettings:
    """The module's catalog: its keyspace and topic, following its inventory's."""
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


def inventory_of(
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    backing: Backing,
    jwks_url: str,
    **overrides: object,
) -> InventorySettings:
    """The module's inventory, consuming its order topic."""
    return inventory_settings(
        cassandra,
        kafka,
        redis_server,
        InventoryBacking(
            keyspace=backing.inventory_keyspace,
            events_topic=backing.inventory_topic,
            orders_topic=backing.orders_topic,
        ),
        jwks_url,
        **overrides,
    )


@contextlib.contextmanager
def served_callees(
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    backing: Backing,
    jwks_url: str,
    **inventory_overrides: object,
) -> Iterator[Callees]:
    """The module's catalog and inventory, each a real app served by uvicorn."""
    catalog = catalog_of(cassandra, kafka, redis_server, backing, jwks_url)
    inventory = inventory_of(
        cassandra, kafka, redis_server, backing, jwks_url, **inventory_overrides
    )
    with (
        serve_in_thread(create_catalog_app(catalog)) as catalog_url,
        serve_in_thread(create_inventory_app(inventory)) as inventory_url,
    ):
        yield Callees(catalog_url=catalog_url, inventory_url=inventory_url)


def orders_settings(
    *,
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    payments: PaymentsSandbox,
    backing: Backing,
    callees: Callees,
    jwks_url: str,
    **overrides: Any,
) -> OrdersSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "cassandra_contact_points": cassandra.contact_points,
        "cassandra_port": cassandra.port,
        # devstack's superuser: the session's keyspace is made by the tests.
        "cassandra_username": cassandra.username,
        "cassandra_password": cassandra.password,
        "cassandra_local_dc": cassandra.local_dc,
        "cassandra_keyspace": backing.orders_keyspace,
        "cassandra_consistency": "ONE",
        "migrate_on_start": False,
        "kafka_bootstrap_servers": kafka.bootstrap_servers,
        "redis_url": redis_server.env()["REDIS_URL"],
        "events_topic": backing.orders_topic,
        "inventory_topic": backing.inventory_topic,
        "consumer_group": f"orders-test-{uuid.uuid4().hex[:12]}",
        "create_topics": False,
        "jwt_jwks_url": jwks_url,
        "catalog_url": callees.catalog_url,
        "inventory_url": callees.inventory_url,
        "payments_url": payments.url,
        "payments_api_key": payments.api_key(),
    }
    values.update(overrides)
    return OrdersSettings(**values)


class Shop:
    """The module's catalog and inventory, driven as an administrator would."""

    def __init__(self, callees: Callees, admin: str) -> None:
        self.callees = callees
        self.admin = admin
        self.category = f"orders-{uuid.uuid4().hex[:10]}"
        self._category_made = False

    async def product(
        self, *, price: str = "10.00", stock: int | None = 10, **extra: Any
    ) -> uuid.UUID:
        """A new catalog product at `price`, with `stock` units in inventory (None: no
        stock record at all)."""
        async with httpx.AsyncClient(base_url=self.callees.catalog_url, timeout=30) as catalog:
            if not self._category_made:
                made = await catalog.post(
                    "/api/categories",
                    json={"slug": self.category, "name": "Orders tests"},
                    headers=bearer(self.admin),
                )
                assert made.status_code == 201, made.text
                self._category_made = True
            body = {
                "name": f"Thing {uuid.uuid4().hex[:6]}",
                "description": "Something to sell.",
                "category": self.category,
                "price": price,
                "currency": "EUR",
                "attributes": {},
                "image_urls": [],
                "in_stock": True,
                **extra,
            }
            created = await catalog.post("/api/products", json=body, headers=bearer(self.admin))
            assert created.status_code == 201, created.text
        product_id = uuid.UUID(created.json()["id"])
        if stock is not None:
            await self.set_stock(product_id, stock)
        return product_id

    async def set_stock(self, product_id: uuid.UUID, on_hand: int) -> None:
        async with httpx.AsyncClient(base_url=self.callees.inventory_url, timeout=30) as inventory:
            put = await inventory.put(
                f"/api/inventory/{product_id}",
                json={"on_hand": on_hand, "low_stock_threshold": 0},
                headers=bearer(self.admin),
            )
            assert put.status_code == 200, put.text

    async def stock(self, product_id: uuid.UUID) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.callees.inventory_url, timeout=30) as inventory:
            got = await inventory.get(f"/api/inventory/{product_id}")
            assert got.status_code == 200, got.text
            body: dict[str, Any] = got.json()
            return body

    async def reprice(self, product_id: uuid.UUID, price: str) -> None:
        async with httpx.AsyncClient(base_url=self.callees.catalog_url, timeout=30) as catalog:
            current = await catalog.get(f"/api/products/{product_id}")
            changed = await catalog.patch(
                f"/api/products/{product_id}",
                json={"price": price},
                headers={**bearer(self.admin), "If-Match": current.headers["ETag"]},
            )
            assert changed.status_code == 200, changed.text

    async def wait_stock(
        self, product_id: uuid.UUID, on_hand: int, reserved: int, timeout: float = DEADLINE_SECONDS
    ) -> None:
        deadline = time.monotonic() + timeout
        while True:
            view = await self.stock(product_id)
            if (view["on_hand"], view["reserved"]) == (on_hand, reserved):
                return
            assert time.monotonic() < deadline, view
            await asyncio.sleep(0.2)


def checkout_body(
    lines: list[tuple[uuid.UUID, int]] | None,
    token: str = "tok_approve",  # noqa: S107
) -> dict[str, Any]:
    body: dict[str, Any] = {"shipping_address": ADDRESS, "payment_token": token}
    if lines is not None:
        body["lines"] = [{"product_id": str(p), "quantity": q} for p, q in lines]
    return body


async def place(
    client: httpx.AsyncClient,
    token: str,
    lines: list[tuple[uuid.UUID, int]] | None,
    *,
    payment_token: str = "tok_approve",  # noqa: S107 - a sandbox test token
    key: str | None = None,
) -> httpx.Response:
    return await client.post(
        "/api/orders",
        json=checkout_body(lines, payment_token),
        headers={**bearer(token), "Idempotency-Key": key or uuid.uuid4().hex},
    )


async def wait_status(
    client: httpx.AsyncClient,
    token: str,
    order_id: str,
    status: str,
    timeout: float = DEADLINE_SECONDS,
) -> dict[str, Any]:
    """The order once it is `status`; fails if it ends elsewhere or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        got = await client.get(f"/api/orders/{order_id}", headers=bearer(token))
        assert got.status_code == 200, got.text
        order: dict[str, Any] = got.json()
        if order["status"] == status:
            return order
        assert time.monotonic() < deadline, f"order is {order['status']}, not {status}"
        await asyncio.sleep(0.2)


def money(value: Any) -> Decimal:
    return Decimal(str(value))


class OrderEventLog(TopicLog):
    """Every order event of the module's topic, read from its start."""

    def __init__(self, kafka: Kafka, topic: str) -> None:
        super().__init__(kafka, topic, ORDER_EVENTS, name="orders")
