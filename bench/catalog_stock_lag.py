"""How long after inventory's stock write the catalog's `in_stock` shows it, on devstack.

    .venv/bin/python bench/catalog_stock_lag.py               # about half a minute
    BENCH_CHANGES=200 BENCH_PRODUCTS=50 .venv/bin/python bench/catalog_stock_lag.py

Runs in this process, on devstack's Cassandra, Kafka and Redis: an inventory service
and two catalog replicas (their lifespans: relays, search feeds, the stock consumer
group they share), each with keyspaces, topics and a Redis prefix of their own.
BENCH_PRODUCTS products; then BENCH_CHANGES stock writes one after another, each
flipping a product in or out of stock through inventory (`StockLevels.set_stock`,
what `PUT /api/inventory/{id}` calls), and the time until the product document and
both replicas' search (`in_stock` filter) show it, polled every 20 ms (the poll
shares the event loop with the apps); then one burst of every product flipping at
once, and the time until all show it. The path measured: inventory's outbox and
relay, Kafka, the catalog's stock consumer (dedupe, level, product write), the
catalog's relay, Kafka again, the other replica's search feed.
The README's bound is 5 s.

Output: JSON on stdout and in bench/results/catalog-stock-lag.json. Everything it
creates is deleted at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import redis
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from cassandra.query import SimpleStatement
from fastapi import FastAPI
from pydantic import SecretStr

from devstack import cassandra_auth
from devstack.paths import Paths
from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.data import migrations_dir as catalog_migrations
from productstore_catalog.app.main import create_app as create_catalog
from productstore_catalog.app.models import CategoryCreate, ProductCreate
from productstore_catalog.app.services.catalog import Catalog
from productstore_common.cassandra import CassandraSession, Migrator
from productstore_common.events import dead_letter_topic, ensure_topics
from productstore_common.kit import container_of
from productstore_inventory.app.core.config import InventorySettings
from productstore_inventory.app.data import migrations_dir as inventory_migrations
from productstore_inventory.app.main import create_app as create_inventory
from productstore_inventory.app.services.stock import StockLevels

RESULTS = Path(__file__).parent / "results" / "catalog-stock-lag.json"
PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "20"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "100"))
KAFKA = "127.0.0.1:9092"
REDIS_URL = "redis://127.0.0.1:6379/0"
# Never fetched: no admin route is called (writes go through the services).
JWKS_URL = "http://127.0.0.1:8101/api/auth/.well-known/jwks.json"
POLL_SECONDS = 0.02
GIVE_UP_SECONDS = 60.0
BOUND_SECONDS = 5.0


@asynccontextmanager
async def _running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            deadline = time.monotonic() + GIVE_UP_SECONDS
            while (await client.get("/readyz")).status_code != 200:
                if time.monotonic() > deadline:
                    raise RuntimeError("an app did not get ready")
                await asyncio.sleep(0.2)
            yield client


async def _shows(client: httpx.AsyncClient, product: str, category: str, in_stock: bool) -> bool:
    document = await client.get(f"/api/products/{product}")
    if document.json()["in_stock"] is not in_stock:
        return False
    found = await client.get(
        "/api/products/search",
        params={"category": category, "in_stock": str(in_stock).lower(), "limit": 100},
    )
    return product in {item["id"] for item in found.json()["items"]}


async def _until_shown(
    replicas: list[httpx.AsyncClient], wanted: dict[str, bool], category: str
) -> float:
    started = time.perf_counter()
    pending = dict(wanted)
    while pending:
        for product, in_stock in list(pending.items()):
            shown = [await _shows(client, product, category, in_stock) for client in replicas]
            if all(shown):
                del pending[product]
        if time.perf_counter() - started > GIVE_UP_SECONDS:
            raise RuntimeError(f"not shown after {GIVE_UP_SECONDS} s: {pending}")
        await asyncio.sleep(POLL_SECONDS)
    return time.perf_counter() - started


def _quantiles(lags: list[float]) -> dict[str, float]:
    ordered = sorted(lags)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def _measure(
    replicas: list[httpx.AsyncClient], catalog: Catalog, levels: StockLevels
) -> dict[str, Any]:
    category = f"bench-{uuid.uuid4().hex[:8]}"
    await catalog.create_category(CategoryCreate(slug=category, name="Bench"))
    products: dict[str, bool] = {}
    for index in range(PRODUCTS):
        created = await catalog.create_product(
            ProductCreate(
                name=f"Bench product {index}",
                category=category,
                price=Decimal("10.00"),
                currency="EUR",
                in_stock=False,
            )
        )
        products[str(created.id)] = False
    # Warm-up: every product gets a level (consumers join their groups meanwhile).
    for product in products:
        await levels.set_stock(uuid.UUID(product), {"default": 3}, None)
        products[product] = True
    warm_up = await _until_shown(replicas, products, category)

    lags: list[float] = []
    ids = list(products)
    for change in range(CHANGES):
        product = ids[change % len(ids)]
        products[product] = not products[product]
        started = time.perf_counter()
        await levels.set_stock(uuid.UUID(product), {"default": 3 if products[product] else 0}, None)
        await _until_shown(replicas, {product: products[product]}, category)
        lags.append(time.perf_counter() - started)

    for product in ids:
        products[product] = not products[product]
    started = time.perf_counter()
    await asyncio.gather(
        *(
            levels.set_stock(uuid.UUID(product), {"default": 3 if products[product] else 0}, None)
            for product in ids
        )
    )
    await _until_shown(replicas, products, category)
    burst = time.perf_counter() - started
    return {
        "warm_up_seconds": round(warm_up, 2),
        "sequential": {"changes": len(lags), **_quantiles(lags)},
        "burst": {"changes": len(ids), "all_shown_ms": round(burst * 1000, 1)},
        "within_bound": max(*lags, burst) < BOUND_SECONDS,
    }


async def main() -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:10]
    catalog_keyspace, inventory_keyspace = f"bench_catalog_{suffix}", f"bench_inventory_{suffix}"
    catalog_topic, inventory_topic = f"bench-catalog-{suffix}", f"bench-inventory-{suffix}"
    topics = [name for topic in (catalog_topic, inventory_topic)
              for name in (topic, dead_letter_topic(topic))]  # fmt: skip
    prefix = f"bench-stock-{suffix}"
    # devstack's superuser: the bench makes and drops keyspaces of its own.
    login = cassandra_auth.superuser(Paths.from_env())
    connection: dict[str, Any] = {
        "environment": "test",
        "cassandra_contact_points": "127.0.0.1",
        "cassandra_username": login.username,
        "cassandra_password": login.password,
        "cassandra_consistency": "ONE",
        "migrate_on_start": False,
        "create_topics": False,
        "kafka_bootstrap_servers": KAFKA,
        "redis_url": REDIS_URL,
        "jwt_jwks_url": JWKS_URL,
    }
    catalog_settings = CatalogSettings(
        **connection,
        cassandra_keyspace=catalog_keyspace,
        events_topic=catalog_topic,
        inventory_topic=inventory_topic,
        stock_consumer_group=f"bench-catalog-stock-{suffix}",
        redis_key_prefix=prefix,
        search_cursor_key=SecretStr(f"bench-cursor-key-{suffix}-0123456789abcdef"),
    )
    inventory_settings = InventorySettings(
        **connection,
        cassandra_keyspace=inventory_keyspace,
        events_topic=inventory_topic,
        consume_orders=False,
    )
    db = CassandraSession.connect(
        contact_points=["127.0.0.1"],
        port=9042,
        local_dc="datacenter1",
        username=login.username,
        password=login.password,
        consistency="ONE",
    )
    replication = {"class": "SimpleStrategy", "replication_factor": 1}
    try:
        Migrator(db, catalog_keyspace, catalog_migrations(), replication=replication).migrate()
        Migrator(db, inventory_keyspace, inventory_migrations(), replication=replication).migrate()
        await ensure_topics(KAFKA, topics)
        async with AsyncExitStack() as stack:
            inventory = create_inventory(inventory_settings)
            await stack.enter_async_context(_running(inventory))
            first, second = create_catalog(catalog_settings), create_catalog(catalog_settings)
            replicas = [await stack.enter_async_context(_running(app)) for app in (first, second)]
            measured = await _measure(
                replicas, container_of(first).get(Catalog), container_of(inventory).get(StockLevels)
            )
    finally:
        for keyspace in (catalog_keyspace, inventory_keyspace):
            db.execute(SimpleStatement(f"DROP KEYSPACE IF EXISTS {keyspace}"), timeout=60)
        db.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
        await admin.start()
        try:
            await admin.delete_topics(topics)
        finally:
            await admin.close()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
    return {
        "benchmark": "catalog-stock-lag",
        "products": PRODUCTS,
        "catalog_replicas": 2,
        "bound_seconds": BOUND_SECONDS,
        "load_average": os.getloadavg(),
        **measured,
    }


if __name__ == "__main__":
    report = asyncio.run(main())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
