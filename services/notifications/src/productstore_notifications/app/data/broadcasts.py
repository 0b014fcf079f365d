"""Cassandra access for broadcasts: the broadcast rows, their senders' leases, the
promotions audience they page through."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from cassandra.query import BatchStatement, BatchType

from productstore_common.cassandra import CassandraSession

# running_broadcasts keeps its few rows in one partition.
_SHARD = 0
# Before any lease: every replica may take a new broadcast.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    """The last recipient handled: the audience partition (locale, bucket) and user."""

    locale: str
    bucket: int
    user_id: uuid.UUID | None


@dataclass(frozen=True)
class BroadcastRecord:
    broadcast_id: uuid.UUID
    locale: str | None  # the segment's; None: every locale
    subjects: dict[str, str]
    bodies: dict[str, str]
    status: str  # running | done
    cursor: Cursor | None  # None: nobody handled yet
    recipients: int
    created_by: str
    created_at: datetime
    finished_at: datetime | None


class BroadcastStore:
    def __init__(self, db: CassandraSession) -> None:
        self.db = db

    async def create(self, record: BroadcastRecord) -> None:
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        batch.add(
            await self.db.prepare_async(
                "INSERT INTO broadcasts (broadcast_id, segment_locale, subjects, bodies, status, "
                "recipients, lease_until, created_by, created_at) "
                "VALUES (?, ?, ?, ?, 'running', 0, ?, ?, ?)"
            ),
            (
                record.broadcast_id,
                record.locale,
                record.subjects,
                record.bodies,
                NEVER,
                record.created_by,
                record.created_at,
            ),
        )
        batch.add(
            await self.db.prepare_async(
                "INSERT INTO running_broadcasts (shard, broadcast_id) VALUES (?, ?)"
            ),
            (_SHARD, record.broadcast_id),
        )
        await self.db.execute_async(batch)

    async def get(self, broadcast_id: uuid.UUID) -> BroadcastRecord | None:
        page = await self.db.execute_async(
            "SELECT segment_locale, subjects, bodies, status, cursor_locale, cursor_bucket, "
            "cursor_user, recipients, created_by, created_at, finished_at FROM broadcasts "
            "WHERE broadcast_id = ?",
            (broadcast_id,),
        )
        row = page.one()
        if row is None:
            return None
        cursor = (
            Cursor(row.cursor_locale, int(row.cursor_bucket), row.cursor_user)
            if row.cursor_locale is not None
            else None
        )
        return BroadcastRecord(
            broadcast_id=broadcast_id,
            locale=row.segment_locale,
            subjects=dict(row.subjects or {}),
            bodies=dict(row.bodies or {}),
            status=row.status,
            cursor=cursor,
            recipients=int(row.recipients or 0),
            created_by=row.created_by,
            created_at=_aware(row.created_at),
            finished_at=_aware(row.finished_at) if row.finished_at else None,
        )

    async def running(self) -> list[uuid.UUID]:
        page = await self.db.execute_async(
            "SELECT broadcast_id FROM running_broadcasts WHERE shard = ?", (_SHARD,)
        )
        return [row.broadcast_id for row in page.rows]

    async def take_lease(
        self, broadcast_id: uuid.UUID, owner: str, now: datetime, until: datetime
    ) -> bool:
        """True when this caller now sends the broadcast (the last lease ran out)."""
        page = await self.db.execute_async(
            "UPDATE broadcasts SET lease_owner = ?, lease_until = ? WHERE broadcast_id = ? "
            "IF status = 'running' AND lease_until < ?",
            (owner, until, broadcast_id, now),
        )
        return bool(page.was_applied)

    async def save_progress(
        self,
        broadcast_id: uuid.UUID,
        owner: str,
        cursor: Cursor,
        recipients: int,
        until: datetime,
    ) -> bool:
        """Move the cursor and renew the lease; False when the lease was lost."""
        page = await self.db.execute_async(
            "UPDATE broadcasts SET cursor_locale = ?, cursor_bucket = ?, cursor_user = ?, "
            "recipients = ?, lease_until = ? WHERE broadcast_id = ? IF lease_owner = ?",
            (cursor.locale, cursor.bucket, cursor.user_id, recipients, until, broadcast_id, owner),
        )
        return bool(page.was_applied)

    async def finish(
        self, broadcast_id: uuid.UUID, owner: str, recipients: int, now: datetime
    ) -> bool:
        page = await self.db.execute_async(
            "UPDATE broadcasts SET status = 'done', recipients = ?, finished_at = ?, "
            "lease_until = ? WHERE broadcast_id = ? IF lease_owner = ?",
            (recipients, now, now, broadcast_id, owner),
        )
        if page.was_applied:
            await self.forget_running(broadcast_id)
        return bool(page.was_applied)

    async def forget_running(self, broadcast_id: uuid.UUID) -> None:
        await self.db.execute_async(
            "DELETE FROM running_broadcasts WHERE shard = ? AND broadcast_id = ?",
            (_SHARD, broadcast_id),
        )

    async def audience(
        self, locale: str, bucket: int, after: uuid.UUID | None, limit: int
    ) -> list[uuid.UUID]:
        """Up to `limit` users of one audience partition, after `after` (token order of
        the clustering key: uuid order)."""
        if after is None:
            page = await self.db.execute_async(
                "SELECT user_id FROM promotion_audience WHERE locale = ? AND bucket = ? LIMIT ?",
                (locale, bucket, limit),
            )
        else:
            page = await self.db.execute_async(
                "SELECT user_id FROM promotion_audience WHERE locale = ? AND bucket = ? "
                "AND user_id > ? LIMIT ?",
                (locale, bucket, after, limit),
            )
        return [row.user_id for row in page.rows]
