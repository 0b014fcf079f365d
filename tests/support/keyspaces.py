"""A test's own Cassandra keyspace with a service's migrations applied, and its own
Kafka topics (each with its dead-letter topic), dropped and deleted afterwards."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from cassandra.query import SimpleStatement

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from productstore_common.cassandra import CassandraSession, Migrator
from productstore_common.events import dead_letter_topic, ensure_topics

SIMPLE_RF1 = {"class": "SimpleStrategy", "replication_factor": 1}


def connect(cassandra: Cassandra) -> CassandraSession:
    """A session as devstack's superuser, at consistency ONE (one node)."""
    return CassandraSession.connect(
        contact_points=cassandra.contact_points,
        port=cassandra.port,
        local_dc=cassandra.local_dc,
        username=cassandra.username,
        password=cassandra.password,
        consistency="ONE",
    )


@contextlib.contextmanager
def migrated_keyspace(
    cassandra: Cassandra, keyspace: str, migrations: Path
) -> Iterator[CassandraSession]:
    """``keyspace`` created and migrated; the session stays open until it is dropped."""
    db = connect(cassandra)
    try:
        Migrator(db, keyspace, migrations, replication=SIMPLE_RF1).migrate()
        yield db
    finally:
        db.execute(SimpleStatement(f"DROP KEYSPACE IF EXISTS {keyspace}"), timeout=60)
        db.close()


async def delete_topics(servers: str, topics: Sequence[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.delete_topics(list(topics))
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def async_topics(kafka: Kafka, names: Sequence[str]) -> AsyncIterator[list[str]]:
    """``topics`` for async tests (inside an event loop)."""
    every = [name for topic in names for name in (topic, dead_letter_topic(topic))]
    await ensure_topics(kafka.bootstrap_servers, every)
    try:
        yield every
    finally:
        await delete_topics(kafka.bootstrap_servers, every)


@contextlib.contextmanager
def topics(kafka: Kafka, names: Sequence[str]) -> Iterator[list[str]]:
    """``names`` and their dead-letter topics created, deleted afterwards."""
    every = [name for topic in names for name in (topic, dead_letter_topic(topic))]
    asyncio.run(ensure_topics(kafka.bootstrap_servers, every))
    try:
        yield every
    finally:
        asyncio.run(delete_topics(kafka.bootstrap_servers, every))
