"""What the catalog benchmarks share: the typical searches, a bulk load of the demo
corpus straight into a catalog instance's tables, the clean-up of its keyspace,
topics and Redis keys, and a free loopback port."""

from __future__ import annotations

import random
import socket
import time
import uuid
from decimal import Decimal
from typing import Any

import redis
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args
from confluent_kafka.admin import AdminClient

from devstack import cassandra_auth
from devstack.paths import Paths
from productstore_catalog.demo.corpus import CATEGORIES, generate_products

SEARCHES: tuple[dict[str, str], ...] = (
    {"q": "смартфон"},
    {"q": "смартфоны", "category": "smartphones", "in_stock": "true"},
    {"q": "ноутбук", "min_price": "40000", "max_price": "150000"},
    {"q": "наушники", "sort_by": "price_asc"},
    {"q": "кофе", "min_rating": "4"},
    {"q": "чёрный чайник", "category": "kitchen"},
    {"q": "running shoes", "max_price": "150"},
    {"q": "headphones", "in_stock": "true", "sort_by": "rating"},
    {"q": "laptop", "min_rating": "3.5", "limit": "10"},
    {"q": "book"},
    {"category": "toys", "sort_by": "newest"},
    {"category": "coffee", "min_price": "5", "max_price": "50", "sort_by": "price_desc"},
)
_INSERT_PRODUCT = (
    "INSERT INTO products (id, name, description, category, price, currency, attributes, "
    "image_urls, in_stock, rating_average, rating_count, version, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def superuser() -> PlainTextAuthProvider:
    """devstack's Cassandra superuser: the benches load and drop keyspaces of their own."""
    return cassandra_auth.superuser(Paths.from_env()).auth_provider()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _write_all(session: Any, statement: Any, rows: list[tuple[Any, ...]]) -> None:
    """Insert every row; rows that time out are written again (inserts are idempotent)."""
    pending = rows
    for _ in range(5):
        results = execute_concurrent_with_args(
            session, statement, pending, concurrency=32, raise_on_first_error=False
        )
        pending = [row for row, (ok, _) in zip(pending, results, strict=True) if not ok]
        if not pending:
            return
    raise RuntimeError(f"{len(pending)} rows could not be written")


def bulk_load(keyspace: str, count: int) -> tuple[list[uuid.UUID], float]:
    """Write the demo corpus straight into the instance's tables; ids and seconds taken."""
    started = time.monotonic()
    cluster = Cluster(["127.0.0.1"], port=9042, auth_provider=superuser())
    try:
        session = cluster.connect(keyspace)
        # A loaded machine answers slowly; the defaults (10 s) time out under a bulk load.
        session.default_timeout = 120
        now = int(time.time() * 1_000_000)
        categories = session.prepare(
            "INSERT INTO categories (slug, name, description, created_at, updated_at) "
            "VALUES (?, ?, ?, toTimestamp(now()), toTimestamp(now()))"
        )
        execute_concurrent_with_args(
            session, categories, [(c.slug, c.name_en, c.name_ru) for c in CATEGORIES]
        )
        products = session.prepare(_INSERT_PRODUCT)
        by_category = session.prepare(
            "INSERT INTO products_by_category (category, product_id) VALUES (?, ?)"
        )
        rng = random.Random(7)
        rows, index_rows = [], []
        for n, p in enumerate(generate_products(count, seed=1)):
            rating_count = 0 if p.rating is None else rng.randint(1, 500)
            rows.append(
                (p.id, p.name, p.description, p.category, Decimal(p.price), p.currency,
                 p.attributes, p.image_urls, p.in_stock, p.rating, rating_count, now + n,
                 p.created_at, p.created_at)
            )  # fmt: skip
            index_rows.append((p.category, p.id))
        _write_all(session, products, rows)
        _write_all(session, by_category, index_rows)
        return [row[0] for row in rows], time.monotonic() - started
    finally:
        cluster.shutdown()


def cleanup(keyspace: str, topic: str, redis_prefix: str) -> None:
    """Drop the instance's keyspace (and role), its topics and its Redis keys."""
    cassandra_auth.drop_keyspace_role(Paths.from_env(), "127.0.0.1", 9042, keyspace)
    admin = AdminClient({"bootstrap.servers": "127.0.0.1:9092"})
    doomed = [t for t in admin.list_topics(timeout=10).topics if t.startswith(topic)]
    for future in admin.delete_topics(doomed, operation_timeout=30).values() if doomed else ():
        future.result()
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        for key in client.scan_iter(match=f"{redis_prefix}:*", count=1000):
            client.delete(key)
    finally:
        client.close()
