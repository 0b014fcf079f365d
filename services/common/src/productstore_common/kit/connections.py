"""The process's connections, made the same way by every service.

- Cassandra: one session whose current keyspace is the service's, after applying
  the service's migrations under the LWT lock when the settings ask for it
  (development, and clusters through the chart); otherwise a missing keyspace fails
  at start with the command that creates it, not at the first request.
- Redis: redis.asyncio for writes and scripts, the pipelined `RedisReader` for hot
  reads; short timeouts, since a cache or a counter must not hold requests up.
- Kafka: the topics a service produces to, with their dead-letter topics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path

import redis.asyncio as redis

from productstore_common.cassandra import CassandraSession, CassandraUnavailableError, Migrator
from productstore_common.events import dead_letter_topic, ensure_topics
from productstore_common.redis_reader import RedisReader
from productstore_common.settings import ServiceSettings

__all__ = [
    "REDIS_TIMEOUT_SECONDS",
    "Redis",
    "connect_cassandra",
    "create_topics",
    "migrations_dir",
    "redis_client",
    "redis_reader",
]

Redis = redis.Redis

# A cache read or a counter must not hold a request up for long.
REDIS_TIMEOUT_SECONDS = 0.5

_logger = logging.getLogger(__name__)


def migrations_dir(package_file: str) -> Path:
    """A service's CQL migrations, given any module file of its top package's direct
    subpackage (`__file__` of `productstore_x.app.data`): inside the installed wheel
    (`productstore_x/migrations`), or the source tree's `services/x/migrations`."""
    package = Path(package_file).resolve().parents[2]
    packaged = package / "migrations"
    if packaged.is_dir():
        return packaged
    # An editable (workspace) install: services/x/src/productstore_x -> services/x.
    return package.parents[1] / "migrations"


async def connect_cassandra(settings: ServiceSettings, migrations: Path) -> CassandraSession:
    """The service's session, its keyspace current, migrated first if the settings ask."""
    password = settings.cassandra_password
    db = await CassandraSession.connect_async(
        contact_points=settings.cassandra_contact_points,
        port=settings.cassandra_port,
        local_dc=settings.cassandra_local_dc,
        consistency=settings.cassandra_consistency,
        username=settings.cassandra_username,
        password=password.get_secret_value() if password is not None else None,
        application_name=settings.service_name,
        reconnect_max_delay=settings.cassandra_reconnect_max_delay_seconds,
    )
    try:
        if settings.migrates_on_start:
            await asyncio.to_thread(_migrate, db, settings, migrations)
        else:
            _check_keyspace(db, settings, migrations)
        # Statements of the event layer name their tables without a keyspace.
        await asyncio.to_thread(db.session.set_keyspace, settings.cassandra_keyspace)
    except BaseException:
        db.close()
        raise
    return db


def _check_keyspace(db: CassandraSession, settings: ServiceSettings, migrations: Path) -> None:
    # Fail at start, not at the first request's "unconfigured table".
    keyspace = settings.cassandra_keyspace
    if keyspace.lower() not in db.cluster.metadata.keyspaces:
        raise CassandraUnavailableError(
            f"keyspace {keyspace!r} does not exist: run the {settings.service_name} "
            f"migrations first (python -m productstore_common.cassandra migrate --dir "
            f"{migrations} --keyspace {keyspace}), or set "
            f"{settings.model_config.get('env_prefix', '')}MIGRATE_ON_START=true"
        )


def _migrate(db: CassandraSession, settings: ServiceSettings, migrations: Path) -> None:
    report = Migrator(
        db, settings.cassandra_keyspace, migrations, replication=settings.replication()
    ).migrate()
    if report.applied:
        _logger.info(
            "applied %s to keyspace %s",
            ", ".join(migration.name for migration in report.applied),
            report.keyspace,
        )


def redis_client(settings: ServiceSettings) -> Redis:
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


def redis_reader(settings: ServiceSettings, purpose: str, *, traced: bool = True) -> RedisReader:
    """GET/MGET pipelined on one connection (productstore_common.redis_reader)."""
    return RedisReader(
        settings.redis_url,
        timeout_seconds=REDIS_TIMEOUT_SECONDS,
        client_name=f"{settings.service_name}-{purpose}",
        traced=traced,
    )


async def create_topics(settings: ServiceSettings, topics: Iterable[str]) -> list[str]:
    """`topics` and their dead-letter topics; the ones that had to be created."""
    wanted = [name for topic in topics for name in (topic, dead_letter_topic(topic))]
    created = await ensure_topics(settings.kafka_bootstrap_servers, wanted)
    if created:
        _logger.info("created Kafka topics %s", ", ".join(created))
    return list(created)
