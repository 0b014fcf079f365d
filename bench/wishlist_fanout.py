"""A price drop fanned out to everyone watching one product, on devstack.

    .venv/bin/python bench/wishlist_fanout.py               # a few minutes
    BENCH_WISHLISTS=1000 .venv/bin/python bench/wishlist_fanout.py

Runs in this process, on devstack's Cassandra and Kafka: a wishlist service (its
lifespan: relay, consumers) with a keyspace and topics of its own. BENCH_WISHLISTS
lists (10,000) of as many users hold one product; every BENCH_SHARED_EVERY-th list
(10th) is shared and followed by one more user. After a warm-up drop of another
product (the consumer has joined, the relay runs), a real PriceChanged goes onto
the catalog topic and the clock runs until the last notice is read back off the
wishlist topic: the path is Kafka, the price consumer (its dedupe), the audience
read (`product_wishlists`, followers), one claim (LWT) per user, the outbox and its
relay, Kafka again. Then, the same day, a second drop (another event) and the first
event sent again (a redelivery); the bench waits BENCH_SETTLE_SECONDS (15) for
notices that should not come. `duplicates` counts users told more than once: it
must be 0.

Output: JSON on stdout and in bench/results/wishlist-fanout.json. Everything it
creates is deleted at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from cassandra.query import SimpleStatement

from devstack import cassandra_auth
from devstack.paths import Paths
from productstore_common.cassandra import CassandraSession, Migrator
from productstore_common.events import (
    CloudEvent,
    EventRegistry,
    dead_letter_topic,
    ensure_topics,
    new_event,
)
from productstore_common.kit import container_of
from productstore_contracts.events.catalog import CATALOG_SOURCE, PriceChanged
from productstore_contracts.events.wishlist import WISHLIST_EVENTS
from productstore_wishlist.app.core.config import WishlistSettings
from productstore_wishlist.app.data import migrations_dir
from productstore_wishlist.app.data.wishlists import WishlistRow, WishlistStore
from productstore_wishlist.app.main import create_app
from productstore_wishlist.app.services.wishlists import Wishlists

RESULTS = Path(__file__).parent / "results" / "wishlist-fanout.json"
WISHLISTS = int(os.environ.get("BENCH_WISHLISTS", "10000"))
SHARED_EVERY = int(os.environ.get("BENCH_SHARED_EVERY", "10"))
SETTLE_SECONDS = float(os.environ.get("BENCH_SETTLE_SECONDS", "15"))
KAFKA = "127.0.0.1:9092"
# Never fetched: no route is called.
JWKS_URL = "http://127.0.0.1:8101/api/auth/.well-known/jwks.json"
GIVE_UP_SECONDS = 600.0
SEED_CONCURRENCY = 64


async def _seed(store: WishlistStore, product: uuid.UUID) -> int:
    """The lists and followers; the number of users the product concerns."""
    limit = asyncio.Semaphore(SEED_CONCURRENCY)
    now = datetime.now(UTC)

    async def one(n: int) -> int:
        async with limit:
            row = WishlistRow(uuid.uuid4(), uuid.uuid4(), f"List {n}", None, now, now)
            await store.create(row)
            await store.add_item(row, product, now)
            if SHARED_EVERY and n % SHARED_EVERY == 0:
                await store.share(row.wishlist_id, uuid.uuid4().hex, None, now)
                await store.follow(row.wishlist_id, uuid.uuid4(), now)
                return 2
            return 1

    return sum(await asyncio.gather(*(one(n) for n in range(WISHLISTS))))


def _drop(product: uuid.UUID, old: str, new: str) -> CloudEvent[Any]:
    payload = PriceChanged(
        product_id=product,
        version=time.time_ns() // 1000,
        old_price=Decimal(old),
        new_price=Decimal(new),
        currency="EUR",
    )
    return new_event(payload, source=CATALOG_SOURCE, subject=str(product))


async def _read(reader: AIOKafkaConsumer, registry: EventRegistry, seen: list[Any]) -> None:
    batches = await reader.getmany(timeout_ms=200, max_records=5000)
    for records in batches.values():
        seen.extend(registry.decode(record.value) for record in records)


async def _measure(settings: WishlistSettings, catalog_topic: str) -> dict[str, Any]:
    app = create_app(settings)
    product = uuid.uuid4()
    registry = EventRegistry(WISHLIST_EVENTS)
    reader = AIOKafkaConsumer(
        settings.events_topic,
        bootstrap_servers=KAFKA,
        group_id=f"bench-wishlist-read-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all")
    async with app.router.lifespan_context(app):
        store = container_of(app).get(Wishlists).store
        started = time.monotonic()
        audience = await _seed(store, product)
        seed_seconds = time.monotonic() - started
        await reader.start()
        await producer.start()
        try:
            # Warm up: the consumer has joined its group and the relay publishes.
            warm = uuid.uuid4()
            now = datetime.now(UTC)
            row = WishlistRow(uuid.uuid4(), uuid.uuid4(), "Warm-up", None, now, now)
            await store.create(row)
            await store.add_item(row, warm, now)
            warming = _drop(warm, "2.00", "1.00")
            await producer.send_and_wait(
                catalog_topic, warming.to_json(), key=warming.subject.encode()
            )
            seen: list[Any] = []
            while not seen:
                if time.monotonic() - started > GIVE_UP_SECONDS:
                    raise RuntimeError("the warm-up notice never came")
                await _read(reader, registry, seen)
            notices: list[Any] = []
            first = _drop(product, "100.00", "80.00")
            sent_at = time.monotonic()
            await producer.send_and_wait(catalog_topic, first.to_json(), key=first.subject.encode())
            first_at = last_at = None
            while len(notices) < audience:
                if time.monotonic() - sent_at > GIVE_UP_SECONDS:
                    raise RuntimeError(f"{len(notices)} of {audience} notices in time")
                await _read(reader, registry, notices)
                if notices and first_at is None:
                    first_at = time.monotonic()
            last_at = time.monotonic()
            # The same day: another drop, and the first event delivered again.
            second = _drop(product, "80.00", "60.00")
            await producer.send_and_wait(
                catalog_topic, second.to_json(), key=second.subject.encode()
            )
            await producer.send_and_wait(catalog_topic, first.to_json(), key=first.subject.encode())
            settle_until = time.monotonic() + SETTLE_SECONDS
            while time.monotonic() < settle_until:
                await _read(reader, registry, notices)
        finally:
            await producer.stop()
            await reader.stop()
    told = Counter(n.data.user_id for n in notices)
    elapsed = last_at - sent_at
    return {
        "seed_seconds": round(seed_seconds, 1),
        "audience": audience,
        "notices": len(notices),
        "users_told": len(told),
        "duplicates": sum(count - 1 for count in told.values()),
        "distinct_notice_ids": len({n.id for n in notices}),
        "first_notice_seconds": round((first_at or last_at) - sent_at, 3),
        "last_notice_seconds": round(elapsed, 3),
        "notices_per_second": round(audience / elapsed, 1),
        "followers": sum(1 for n in notices if n.data.audience == "follower"),
    }


async def main() -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:10]
    keyspace = f"bench_wishlist_{suffix}"
    events_topic, catalog_topic, inventory_topic = (
        f"bench-wishlist-{suffix}",
        f"bench-wl-catalog-{suffix}",
        f"bench-wl-inventory-{suffix}",
    )
    topics = [name for topic in (events_topic, catalog_topic, inventory_topic)
              for name in (topic, dead_letter_topic(topic))]  # fmt: skip
    login = cassandra_auth.superuser(Paths.from_env())
    values: dict[str, Any] = {
        "environment": "test",
        "cassandra_contact_points": "127.0.0.1",
        "cassandra_username": login.username,
        "cassandra_password": login.password,
        "cassandra_consistency": "ONE",
        "cassandra_keyspace": keyspace,
        "migrate_on_start": False,
        "create_topics": False,
        "kafka_bootstrap_servers": KAFKA,
        "jwt_jwks_url": JWKS_URL,
        "events_topic": events_topic,
        "catalog_topic": catalog_topic,
        "inventory_topic": inventory_topic,
        "consumer_group": f"bench-wishlist-{suffix}",
        # One event's fan-out to every list, however slow this machine is.
        "handler_timeout_seconds": 600,
    }
    settings = WishlistSettings(**values)
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
        Migrator(db, keyspace, migrations_dir(), replication=replication).migrate()
        await ensure_topics(KAFKA, topics)
        measured = await _measure(settings, catalog_topic)
    finally:
        db.execute(SimpleStatement(f"DROP KEYSPACE IF EXISTS {keyspace}"), timeout=120)
        db.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
        await admin.start()
        try:
            await admin.delete_topics(topics)
        finally:
            await admin.close()
    return {
        "benchmark": "wishlist-fanout",
        "wishlists": WISHLISTS,
        "shared_every": SHARED_EVERY,
        "fanout_concurrency": settings.fanout_concurrency,
        "fanout_batch": settings.fanout_batch,
        "load_average": os.getloadavg(),
        **measured,
    }


if __name__ == "__main__":
    report = asyncio.run(main())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
