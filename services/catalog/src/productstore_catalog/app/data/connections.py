"""The process's connections: Cassandra (migrated at start-up if asked) and Redis."""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as redis

from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.data import migrations_dir
from productstore_common.cassandra import CassandraSession, Migrator
from productstore_common.events import dead_letter_topic, ensure_topics
from productstore_common.redis_reader import RedisReader

__all__ = [
    "CassandraSession",
    "Redis",
    "connect_cassandra",
    "create_topics",
    "redis_client",
    "redis_reader",
]

Redis = redis.Redis

_logger = logging.getLogger(__name__)

# The cache is an optimisation: a slow Redis must not hold up reads for long.
REDIS_TIMEOUT_SECONDS = 0.5


def _connect(settings: CatalogSettings, keyspace: str | None) -> CassandraSession:
    password = settings.cassandra_password
    return CassandraSession.connect(
        contact_points=settings.cassandra_contact_points,
        port=settings.cassandra_port,
        local_dc=settings.cassandra_local_dc,
        keyspace=keyspace,
        consistency=settings.cassandra_consistency,
        username=settings.cassandra_username,
        password=password.get_secret_value() if password is not None else None,
        application_name=settings.service_name,
    )


def _migrate(settings: CatalogSettings) -> None:
    db = _connect(settings, keyspace=None)
    try:
        report = Migrator(
            db, settings.cassandra_keyspace, migrations_dir(), replication=settings.replication()
        ).migrate()
    finally:
        db.close()
    if report.applied:
        _logger.info(
            "applied %s to keyspace %s",
            ", ".join(migration.name for migration in report.applied),
            report.keyspace,
        )


async def connect_cassandra(settings: CatalogSettings) -> CassandraSession:
    """A session whose current keyspace is the service's (the event tables of
    productstore_common.events are named without one), after applying the
    migrations if `settings.migrates_on_start` (development, and clusters through the chart).
    A missing keyspace fails here, naming the migrate command."""
    if settings.migrates_on_start:
        await asyncio.to_thread(_migrate, settings)
    return await asyncio.to_thread(_connect, settings, settings.cassandra_keyspace)


async def create_topics(settings: CatalogSettings) -> None:
    """The events topic and its dead-letter topic (development, and clusters
    through the chart's CATALOG_CREATE_TOPICS)."""
    topic = settings.events_topic
    created = await ensure_topics(
        settings.kafka_bootstrap_servers, [topic, dead_letter_topic(topic)]
    )
    if created:
        _logger.info("created Kafka topics %s", ", ".join(created))


def redis_client(settings: CatalogSettings) -> Redis:
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


def redis_reader(settings: CatalogSettings) -> RedisReader:
    """The cache's reads: pipelined on one connection (productstore_common.redis_reader)."""
    return RedisReader(
        settings.redis_url,
        timeout_seconds=REDIS_TIMEOUT_SECONDS,
        client_name=f"{settings.service_name}-cache-reads",
        # A cached read's server span is the Redis read (api/cached_reads marks it).
        traced=False,
    )
