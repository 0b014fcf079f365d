"""Start-up wiring: which key store is used, and a clear error for an unmigrated keyspace."""

from __future__ import annotations

import uuid

import pytest

from devstack.components.cassandra import Cassandra
from devstack.components.openbao import OpenBao
from devstack.components.redis import Redis
from productstore_auth.app.data import migrations_dir
from productstore_auth.app.data.key_store import key_store
from productstore_auth.app.data.signing_keys import CassandraKeyStore
from productstore_auth.app.data.vault import VaultKeyStore
from productstore_common.cassandra import CassandraSession, CassandraUnavailableError
from productstore_common.kit.connections import connect_cassandra
from tests.auth.support import service_settings

pytestmark = pytest.mark.anyio


async def test_without_migrations_a_missing_keyspace_fails_start_up_clearly(
    cassandra: Cassandra, redis_server: Redis, openbao: OpenBao
) -> None:
    settings = service_settings(
        cassandra,
        redis_server,
        openbao,
        migrate_on_start=False,
        cassandra_keyspace=f"missing_{uuid.uuid4().hex[:12]}",
    )
    with pytest.raises(CassandraUnavailableError, match="run the auth migrations first"):
        await connect_cassandra(settings, migrations_dir())


def test_keys_live_in_vault_when_configured_else_in_cassandra(
    cassandra: Cassandra,
    redis_server: Redis,
    openbao: OpenBao,
    migrated_db: tuple[CassandraSession, str],
) -> None:
    db, keyspace = migrated_db
    with_vault = service_settings(cassandra, redis_server, openbao, cassandra_keyspace=keyspace)
    assert isinstance(key_store(with_vault, db), VaultKeyStore)
    development = service_settings(
        cassandra,
        redis_server,
        openbao,
        environment="development",
        vault_addr=None,
        cassandra_keyspace=keyspace,
    )
    store = key_store(development, db)
    assert isinstance(store, CassandraKeyStore)
    assert store.table == f"{keyspace}.signing_keys"
