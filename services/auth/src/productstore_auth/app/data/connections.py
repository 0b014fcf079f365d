"""The process's connections: Cassandra (migrated at start-up if asked), Redis, the key store."""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as redis

from productstore_auth.app.core.config import AuthSettings
from productstore_auth.app.core.keys import KeyStore
from productstore_auth.app.data import migrations_dir
from productstore_auth.app.data.signing_keys import CassandraKeyStore
from productstore_auth.app.data.vault import VaultKeyStore
from productstore_common.cassandra import CassandraSession, CassandraUnavailableError, Migrator

__all__ = ["CassandraSession", "Redis", "connect_cassandra", "key_store", "redis_client"]

Redis = redis.Redis

_logger = logging.getLogger(__name__)

# Redis only counts login attempts: waiting long for it would hold up logins,
# and a failure lets the login through (see login_attempts).
REDIS_TIMEOUT_SECONDS = 0.5


async def connect_cassandra(settings: AuthSettings) -> CassandraSession:
    """A session for the service keyspace, after applying the migrations if
    `settings.migrates_on_start` (development, and clusters through the chart).

    The session has no current keyspace: statements name it (see UserStore).
    """
    password = settings.cassandra_password
    db = await CassandraSession.connect_async(
        contact_points=settings.cassandra_contact_points,
        port=settings.cassandra_port,
        local_dc=settings.cassandra_local_dc,
        consistency=settings.cassandra_consistency,
        username=settings.cassandra_username,
        password=password.get_secret_value() if password is not None else None,
        application_name=settings.service_name,
    )
    try:
        if settings.migrates_on_start:
            await asyncio.to_thread(_migrate, db, settings)
        else:
            _check_keyspace(db, settings.cassandra_keyspace)
    except BaseException:
        db.close()
        raise
    return db


def _check_keyspace(db: CassandraSession, keyspace: str) -> None:
    # Fail at start, not at the first request's "unconfigured table".
    if keyspace.lower() not in db.cluster.metadata.keyspaces:
        raise CassandraUnavailableError(
            f"keyspace {keyspace!r} does not exist: run the auth migrations first "
            "(python -m productstore_common.cassandra migrate --dir ... --keyspace ...)"
        )


def _migrate(db: CassandraSession, settings: AuthSettings) -> None:
    migrator = Migrator(
        db, settings.cassandra_keyspace, migrations_dir(), replication=settings.replication()
    )
    report = migrator.migrate()
    if report.applied:
        _logger.info(
            "applied %s to keyspace %s",
            ", ".join(migration.name for migration in report.applied),
            report.keyspace,
        )


def redis_client(settings: AuthSettings) -> Redis:
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


def key_store(settings: AuthSettings, db: CassandraSession) -> KeyStore:
    """Vault when configured (always outside development), else the Cassandra table."""
    if settings.vault_addr is None:
        return CassandraKeyStore(db, settings.cassandra_keyspace)
    token = settings.vault_token.get_secret_value() if settings.vault_token else None
    return VaultKeyStore(
        addr=settings.vault_addr,
        mount=settings.vault_kv_mount,
        path=settings.vault_keys_path,
        token=token,
        kubernetes_role=settings.vault_role,
        kubernetes_mount=settings.vault_kubernetes_mount,
        kubernetes_token_file=settings.vault_kubernetes_token_file,
        timeout=settings.vault_timeout_seconds,
    )
