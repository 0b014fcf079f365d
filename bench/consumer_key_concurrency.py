"""The kit's IdempotentConsumer handling one partition one record at a time against
BENCH_KEY_CONCURRENCY (8, orders' and inventory's default) keys at once.

    .venv/bin/python bench/consumer_key_concurrency.py        # about 3 minutes

On devstack's Cassandra and Kafka: a keyspace of its own (`bench_keys_<id>`: the
event tables and a `stock` table, dropped at the end) and a topic of one partition
(`bench-keys-<id>`, deleted at the end; what `key_concurrency` changes is how one
partition's records are handled). BENCH_EVENTS (2000) events over BENCH_KEYS (64)
keys; each handling does what a reservation does: read the key's row, then a
compare-and-set on it (a lightweight transaction), besides the consumer's own claim
and mark (two more). Runs alternate, 1 then N, BENCH_RUNS (3) times each, each on a
fresh consumer group over the same records, so both see the same machine load.
Reports events/s per run, the medians, their ratio, and whether every key's events
were handled in order (they must be). Output: JSON on stdout and in
bench/results/consumer-key-concurrency.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from cassandra.query import SimpleStatement

from devstack import cassandra_auth
from devstack.components.kafka import HOST as KAFKA_HOST
from devstack.components.kafka import PORT as KAFKA_PORT
from devstack.paths import Paths
from productstore_common.cassandra import CassandraSession, Migrator
from productstore_common.events import (
    CloudEvent,
    ConsumerConfig,
    ConsumerMetrics,
    EventPayload,
    EventRegistry,
    IdempotentConsumer,
    event_tables_cql,
    new_event,
    to_kafka_record,
)

RESULTS = Path(__file__).parent / "results" / "consumer-key-concurrency.json"
EVENTS = int(os.environ.get("BENCH_EVENTS", "2000"))
KEYS = int(os.environ.get("BENCH_KEYS", "64"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CONCURRENCY = int(os.environ.get("BENCH_KEY_CONCURRENCY", "8"))
RUN_TIMEOUT = 600.0
BOOTSTRAP = f"{KAFKA_HOST}:{KAFKA_PORT}"

STOCK_CQL = "CREATE TABLE stock (key text PRIMARY KEY, version int, handled int);"


class Reserved(EventPayload):
    event_type: ClassVar[str] = "productstore.bench.Reserved.v1"

    key: str
    sequence: int


REGISTRY = EventRegistry([Reserved])


def _connect() -> CassandraSession:
    login = cassandra_auth.superuser(Paths.from_env())
    return CassandraSession.connect(
        contact_points=["127.0.0.1"],
        local_dc="datacenter1",
        username=login.username,
        password=login.password,
        consistency="ONE",
        request_timeout=30,
    )


async def _topic(name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def _delete_topic(name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def _produce(topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", linger_ms=5)
    await producer.start()
    try:
        for sequence in range(EVENTS):
            key = f"key-{sequence % KEYS}"
            record = to_kafka_record(
                new_event(Reserved(key=key, sequence=sequence), source="/bench", subject=key)
            )
            await producer.send(topic, value=record.value, key=key.encode(), headers=record.headers)
        await producer.flush()
    finally:
        await producer.stop()


async def _run(db: CassandraSession, topic: str, key_concurrency: int) -> dict[str, Any]:
    """One consumer group through every record: events/s, and each key's order."""
    run = uuid.uuid4().hex[:8]
    read = await db.prepare_async("SELECT version FROM stock WHERE key = ?")
    insert = await db.prepare_async(
        "INSERT INTO stock (key, version, handled) VALUES (?, 0, 0) IF NOT EXISTS"
    )
    swap = await db.prepare_async(
        "UPDATE stock SET version = ?, handled = ? WHERE key = ? IF version = ?"
    )
    seen: dict[str, list[int]] = {}
    done = asyncio.Event()
    handled = 0

    async def handler(item: CloudEvent[Any]) -> None:
        nonlocal handled
        key = f"{run}:{item.data.key}"
        while True:  # a reservation's compare-and-set, retried on a conflict
            row = (await db.execute_async(read, (key,))).one()
            if row is None:
                await db.execute_async(insert, (key,))
                continue
            applied = (
                await db.execute_async(
                    swap, (row.version + 1, item.data.sequence, key, row.version)
                )
            ).one()
            if applied is not None and applied.applied:
                break
        seen.setdefault(item.data.key, []).append(item.data.sequence)
        handled += 1
        if handled == EVENTS:
            done.set()

    config = ConsumerConfig(key_concurrency=key_concurrency, poll_timeout=0.2)
    consumer = IdempotentConsumer(
        db,
        bootstrap_servers=BOOTSTRAP,
        group_id=f"bench-keys-{run}",
        topics=[topic],
        registry=REGISTRY,
        handler=handler,
        config=config,
        metrics=ConsumerMetrics(),
    )
    async with consumer:
        started = time.monotonic()
        await asyncio.wait_for(done.wait(), timeout=RUN_TIMEOUT)
        seconds = time.monotonic() - started
    in_order = all(sequences == sorted(sequences) for sequences in seen.values())
    return {
        "key_concurrency": key_concurrency,
        "seconds": round(seconds, 2),
        "events_per_second": round(EVENTS / seconds, 1),
        "every_key_in_order": in_order,
    }


async def main() -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
    keyspace, topic = f"bench_keys_{tag}", f"bench-keys-{tag}"
    db = _connect()
    try:
        with tempfile.TemporaryDirectory() as migrations:
            Path(migrations, "V0001__stock.cql").write_text(STOCK_CQL)
            Path(migrations, "V0002__event_tables.cql").write_text(event_tables_cql())
            replication = {"class": "SimpleStrategy", "replication_factor": 1}
            Migrator(db, keyspace, Path(migrations), replication=replication).migrate()
        db.session.set_keyspace(keyspace)
        await _topic(topic)
        try:
            await _produce(topic)
            runs = []
            for _ in range(RUNS):
                for concurrency in (1, CONCURRENCY):
                    runs.append(await _run(db, topic, concurrency))
        finally:
            await _delete_topic(topic)
    finally:
        db.execute(SimpleStatement(f"DROP KEYSPACE IF EXISTS {keyspace}"), timeout=120)
        db.close()
    medians = {
        concurrency: statistics.median(
            run["events_per_second"] for run in runs if run["key_concurrency"] == concurrency
        )
        for concurrency in (1, CONCURRENCY)
    }
    return {
        "benchmark": "consumer-key-concurrency",
        "events": EVENTS,
        "keys": KEYS,
        "load_average": os.getloadavg(),
        "runs": runs,
        "median_events_per_second": {str(k): v for k, v in medians.items()},
        "speedup": round(medians[CONCURRENCY] / medians[1], 2),
        "every_key_in_order": all(run["every_key_in_order"] for run in runs),
    }


if __name__ == "__main__":
    report = asyncio.run(main())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
