"""Where the signing keys live: Vault (always outside development) or a Cassandra table."""

from __future__ import annotations

from productstore_auth.app.core.config import AuthSettings
from productstore_auth.app.core.keys import KeyStore
from productstore_auth.app.data.signing_keys import CassandraKeyStore
from productstore_auth.app.data.vault import VaultKeyStore
from productstore_common.cassandra import CassandraSession


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
