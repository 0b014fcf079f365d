"""Fixtures of the event-layer tests: keyspaces with the event tables, fresh topics, spans."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from cassandra.query import SimpleStatement
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from productstore_common.cassandra import CassandraSession, Migrator
from productstore_common.events import dead_letter_topic, ensure_topics, event_tables_cql
from tests.common.cassandra.support import SIMPLE_RF1, connect

PRODUCTS_CQL = (
    "CREATE TABLE IF NOT EXISTS products (id uuid PRIMARY KEY, price decimal, seq int);\n"
)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def admin_db(cassandra: Cassandra) -> Iterator[CassandraSession]:
    session = connect(cassandra)
    try:
        yield session
    finally:
        session.close()


def migrate(db: CassandraSession, keyspace: str, directory: Path) -> None:
    """Migrate a service keyspace the way a service does: the event tables file copied
    unchanged as one of its versions, next to its own tables."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "V0001__products.cql").write_text(PRODUCTS_CQL)
    (directory / "V0002__event_tables.cql").write_text(event_tables_cql())
    Migrator(db, keyspace, directory, replication=SIMPLE_RF1).migrate()


def _service_keyspace(
    admin_db: CassandraSession, cassandra: Cassandra, directory: Path
) -> Iterator[CassandraSession]:
    keyspace = f"ps_events_{uuid.uuid4().hex[:12]}"
    migrate(admin_db, keyspace, directory)
    try:
        session = connect(cassandra, keyspace=keyspace)
        try:
            yield session
        finally:
            session.close()
    finally:
        admin_db.execute(SimpleStatement(f"DROP KEYSPACE IF EXISTS {keyspace}"), timeout=60)


@pytest.fixture
def service_db(
    admin_db: CassandraSession, cassandra: Cassandra, tmp_path: Path
) -> Iterator[CassandraSession]:
    """A session on a fresh keyspace of its own (outbox tests must not share shards)."""
    yield from _service_keyspace(admin_db, cassandra, tmp_path / "migrations")


@pytest.fixture(scope="module")
def module_db(
    admin_db: CassandraSession, cassandra: Cassandra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CassandraSession]:
    """A keyspace shared by a module whose tests keep apart by consumer group."""
    yield from _service_keyspace(admin_db, cassandra, tmp_path_factory.mktemp("migrations"))


@pytest.fixture
async def topic(kafka: Kafka) -> AsyncIterator[str]:
    """A fresh 3-partition topic and its dead-letter topic, deleted afterwards."""
    name = f"events-{uuid.uuid4().hex[:12]}"
    topics = [name, dead_letter_topic(name)]
    await ensure_topics(kafka.bootstrap_servers, topics, partitions=3)
    try:
        yield name
    finally:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
        await admin.start()
        try:
            await admin.delete_topics(topics)
        finally:
            await admin.close()


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    """A tracer provider of the test's own whose finished spans are kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter
