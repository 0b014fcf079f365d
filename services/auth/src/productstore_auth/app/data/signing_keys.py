"""The signing-key set in Cassandra, for development without Vault.

One row holds the whole set as JSON; `save` is an LWT on the row's version,
the same compare-and-set that Vault's KV v2 `cas` gives in production.
"""

# ruff: noqa: S608 - CQL names the keyspace (a validated identifier); values are always bound

from __future__ import annotations

import json
from collections.abc import Sequence

from productstore_auth.app.core.keys import KeySet, StoredKey, decode_document, encode_document
from productstore_common.cassandra import CassandraSession

_SCOPE = "es256"


class CassandraKeyStore:
    name = "cassandra"

    def __init__(self, db: CassandraSession, keyspace: str) -> None:
        self.db = db
        self.table = f"{keyspace}.signing_keys"

    async def load(self) -> KeySet:
        row = (
            await self.db.execute_async(
                f"SELECT version, document FROM {self.table} WHERE scope = ?", (_SCOPE,)
            )
        ).one()
        if row is None:
            return KeySet((), None)
        return KeySet(decode_document(row.document), row.version)

    async def save(self, keys: Sequence[StoredKey], expected_version: int | None) -> bool:
        document = json.dumps(encode_document(keys))
        if expected_version is None:
            result = await self.db.execute_async(
                f"INSERT INTO {self.table} (scope, version, document) VALUES (?, 1, ?) "
                "IF NOT EXISTS",
                (_SCOPE, document),
            )
        else:
            result = await self.db.execute_async(
                f"UPDATE {self.table} SET version = ?, document = ? WHERE scope = ? IF version = ?",
                (expected_version + 1, document, _SCOPE, expected_version),
            )
        return result.was_applied

    def close(self) -> None:
        """Nothing to close: the Cassandra session belongs to the app."""
