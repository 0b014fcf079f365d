"""Users in Cassandra: `users` by id, and `users_by_email` claimed with an LWT.

Registration claims the address first (`INSERT ... IF NOT EXISTS`), then
writes the user: of two concurrent registrations of one address exactly one
wins the claim. A claim whose user row never arrived (the writer died between
the two writes) is taken over after `STALE_CLAIM` by the next registration,
again with an LWT, so an address cannot be lost to a crash.
"""

# ruff: noqa: S608 - CQL names the keyspace (a validated identifier); values are always bound

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from productstore_auth.app.data.clock import as_utc, as_utc_or_none, now_ms
from productstore_common.cassandra import CassandraSession

STALE_CLAIM = timedelta(seconds=60)

_COLUMNS = (
    "id, email, name, password_hash, roles, disabled, sessions_valid_after, created_at, updated_at"
)


class EmailTakenError(Exception):
    """Another account holds this e-mail address."""


@dataclass(frozen=True)
class UserRecord:
    id: uuid.UUID
    email: str
    name: str
    password_hash: str
    roles: frozenset[str]
    disabled: bool
    sessions_valid_after: datetime | None
    created_at: datetime
    updated_at: datetime


def _user(row: Any) -> UserRecord:
    created = as_utc(row.created_at)
    return UserRecord(
        id=row.id,
        email=row.email,
        name=row.name,
        password_hash=row.password_hash,
        roles=frozenset(row.roles or ()),
        disabled=bool(row.disabled),
        sessions_valid_after=as_utc_or_none(row.sessions_valid_after),
        created_at=created,
        updated_at=as_utc_or_none(row.updated_at) or created,
    )


class UserStore:
    """Tables are named with their keyspace: Cassandra 5 warns against `USE` with
    prepared statements, whose unqualified names are ambiguous."""

    def __init__(self, db: CassandraSession, keyspace: str) -> None:
        self.db = db
        self.users = f"{keyspace}.users"
        self.by_email = f"{keyspace}.users_by_email"

    async def create(
        self, *, email: str, name: str, password_hash: str, roles: frozenset[str]
    ) -> UserRecord:
        """A new user; EmailTakenError when the address has an account."""
        now = now_ms()
        user_id = uuid.uuid4()
        await self._claim_email(email, user_id, now)
        await self.db.execute_async(
            f"INSERT INTO {self.users} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (user_id, email, name, password_hash, set(roles), False, None, now, now),
        )
        return UserRecord(user_id, email, name, password_hash, roles, False, None, now, now)

    async def _claim_email(self, email: str, user_id: uuid.UUID, now: datetime) -> None:
        claim = await self.db.execute_async(
            f"INSERT INTO {self.by_email} (email, user_id, claimed_at) VALUES (?, ?, ?) "
            "IF NOT EXISTS",
            (email, user_id, now),
        )
        if claim.was_applied:
            return
        holder = claim.one()
        claimed_at = as_utc_or_none(holder.claimed_at) or now
        if now - claimed_at < STALE_CLAIM or await self.get(holder.user_id) is not None:
            raise EmailTakenError(email)
        takeover = await self.db.execute_async(
            f"UPDATE {self.by_email} SET user_id = ?, claimed_at = ? WHERE email = ? "
            "IF user_id = ?",
            (user_id, now, email, holder.user_id),
        )
        if not takeover.was_applied:
            raise EmailTakenError(email)

    async def get(self, user_id: uuid.UUID) -> UserRecord | None:
        page = await self.db.execute_async(
            f"SELECT {_COLUMNS} FROM {self.users} WHERE id = ?", (user_id,)
        )
        row = page.one()
        return _user(row) if row is not None else None

    async def get_by_email(self, email: str) -> UserRecord | None:
        claim = (
            await self.db.execute_async(
                f"SELECT user_id FROM {self.by_email} WHERE email = ?", (email,)
            )
        ).one()
        if claim is None:
            return None
        user = await self.get(claim.user_id)
        # A stale claim's user row may be missing; a taken-over claim names the new one.
        return user if user is not None and user.email == email else None

    async def page(self, *, limit: int, after: uuid.UUID | None) -> list[UserRecord]:
        """Up to `limit` users in token order, starting after the user `after`.

        Paged by token rather than with the driver's paging state: a client can
        send any cursor, and Cassandra answers a malformed paging state with a
        protocol error that makes the driver drop the connection.
        """
        if after is None:
            page = await self.db.execute_async(
                f"SELECT {_COLUMNS} FROM {self.users} LIMIT ?", (limit,)
            )
        else:
            page = await self.db.execute_async(
                f"SELECT {_COLUMNS} FROM {self.users} WHERE token(id) > token(?) LIMIT ?",
                (after, limit),
            )
        return [_user(row) for row in page.rows]

    async def set_roles(self, user_id: uuid.UUID, roles: frozenset[str]) -> UserRecord | None:
        """The user with `roles`, or None if there is no such user."""
        applied = await self.db.execute_async(
            f"UPDATE {self.users} SET roles = ?, updated_at = ? WHERE id = ? IF EXISTS",
            (set(roles), now_ms(), user_id),
        )
        return await self.get(user_id) if applied.was_applied else None

    async def set_disabled(self, user_id: uuid.UUID, *, disabled: bool) -> UserRecord | None:
        """Disable (ending every session) or enable the user; None if there is none."""
        now = now_ms()
        if disabled:
            statement = (
                f"UPDATE {self.users} SET disabled = true, sessions_valid_after = ?, "
                "updated_at = ? WHERE id = ? IF EXISTS"
            )
            params: tuple[Any, ...] = (now, now, user_id)
        else:
            statement = (
                f"UPDATE {self.users} SET disabled = false, updated_at = ? WHERE id = ? IF EXISTS"
            )
            params = (now, user_id)
        applied = await self.db.execute_async(statement, params)
        return await self.get(user_id) if applied.was_applied else None

    async def set_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None:
        await self.db.execute_async(
            f"UPDATE {self.users} SET password_hash = ? WHERE id = ? IF EXISTS",
            (password_hash, user_id),
        )
