"""Refresh tokens and their families in Cassandra.

A token row is keyed by the SHA-256 of the opaque token and expires (TTL) with
the token; a used token stays until then, which is what makes reuse
detectable. Marking a token used is an LWT (`IF used = false`), so of two
concurrent refreshes with one token exactly one succeeds.
"""

# ruff: noqa: S608 - CQL names the keyspace (a validated identifier); values are always bound

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from productstore_auth.app.data.clock import as_utc, as_utc_or_none, now_ms, ttl_seconds
from productstore_common.cassandra import CassandraSession


@dataclass(frozen=True)
class RefreshTokenRecord:
    token_hash: bytes
    family_id: uuid.UUID
    user_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime
    used: bool


@dataclass(frozen=True)
class FamilyRecord:
    family_id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


class RefreshTokenStore:
    def __init__(self, db: CassandraSession, keyspace: str) -> None:
        self.db = db
        self.tokens = f"{keyspace}.refresh_tokens"
        self.families = f"{keyspace}.refresh_families"

    async def create_family(
        self, family_id: uuid.UUID, user_id: uuid.UUID, created_at: datetime, expires_at: datetime
    ) -> None:
        await self.db.execute_async(
            f"INSERT INTO {self.families} (family_id, user_id, created_at, expires_at) "
            "VALUES (?, ?, ?, ?) USING TTL ?",
            (family_id, user_id, created_at, expires_at, ttl_seconds(expires_at, created_at)),
        )

    async def add_token(
        self,
        token_hash: bytes,
        *,
        family_id: uuid.UUID,
        user_id: uuid.UUID,
        issued_at: datetime,
        expires_at: datetime,
    ) -> None:
        await self.db.execute_async(
            f"INSERT INTO {self.tokens} (token_hash, family_id, user_id, issued_at, expires_at, "
            "used) VALUES (?, ?, ?, ?, ?, false) USING TTL ?",
            (
                token_hash,
                family_id,
                user_id,
                issued_at,
                expires_at,
                ttl_seconds(expires_at, issued_at),
            ),
        )

    async def get_token(self, token_hash: bytes) -> RefreshTokenRecord | None:
        row = (
            await self.db.execute_async(
                "SELECT token_hash, family_id, user_id, issued_at, expires_at, used "
                f"FROM {self.tokens} WHERE token_hash = ?",
                (token_hash,),
            )
        ).one()
        if row is None:
            return None
        return RefreshTokenRecord(
            token_hash=row.token_hash,
            family_id=row.family_id,
            user_id=row.user_id,
            issued_at=as_utc(row.issued_at),
            expires_at=as_utc(row.expires_at),
            used=bool(row.used),
        )

    async def mark_used(self, token: RefreshTokenRecord) -> bool:
        """Whether this call used the token (False: it had been used before)."""
        now = now_ms()
        # The cells written here get the row's remaining TTL, so the row still
        # disappears when the token would have expired.
        result = await self.db.execute_async(
            f"UPDATE {self.tokens} USING TTL ? SET used = true, used_at = ? "
            "WHERE token_hash = ? IF used = false",
            (ttl_seconds(token.expires_at, now), now, token.token_hash),
        )
        return result.was_applied

    async def get_family(self, family_id: uuid.UUID) -> FamilyRecord | None:
        row = (
            await self.db.execute_async(
                "SELECT family_id, user_id, created_at, expires_at, revoked_at, revoked_reason "
                f"FROM {self.families} WHERE family_id = ?",
                (family_id,),
            )
        ).one()
        if row is None or row.user_id is None:
            return None
        return FamilyRecord(
            family_id=row.family_id,
            user_id=row.user_id,
            created_at=as_utc(row.created_at),
            expires_at=as_utc(row.expires_at),
            revoked_at=as_utc_or_none(row.revoked_at),
            revoked_reason=row.revoked_reason,
        )

    async def revoke_family(self, family: FamilyRecord, reason: str) -> None:
        now = now_ms()
        await self.db.execute_async(
            f"UPDATE {self.families} USING TTL ? SET revoked_at = ?, revoked_reason = ? "
            "WHERE family_id = ?",
            (ttl_seconds(family.expires_at, now), now, reason, family.family_id),
        )
