"""Reviews in Cassandra: the review row (LWT by version), its author claim, the
product's list, votes, reports and the moderation queue.

A decision is two writes: the lightweight transaction on the review row (which
decides who wins), then one logged batch with the product's list row, the queue row
and the outbox events. The list row is written `USING TIMESTAMP <version>`, so a
late batch of an older version never overwrites a newer one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cassandra.query import BoundStatement

from productstore_common.cassandra import CassandraSession
from productstore_common.events import CloudEvent, Outbox

_COLUMNS = (
    "review_id, product_id, user_id, rating, title, body, language, sentiment, status, "
    "reasons, verified_purchase, reports, created_at, updated_at, version"
)
_INSERT = f"INSERT INTO reviews ({_COLUMNS}) VALUES ({', '.join('?' * 15)}) IF NOT EXISTS"  # noqa: S608
_UPDATE = (
    "UPDATE reviews SET rating = ?, title = ?, body = ?, language = ?, sentiment = ?, "
    "status = ?, reasons = ?, reports = ?, updated_at = ?, version = ? "
    "WHERE review_id = ? IF version = ?"
)
_REMOVE = "DELETE FROM reviews WHERE review_id = ?"
_GET = f"SELECT {_COLUMNS} FROM reviews WHERE review_id = ?"  # noqa: S608
_CLAIM = (
    "INSERT INTO review_authors (product_id, user_id, review_id) VALUES (?, ?, ?) IF NOT EXISTS"
)
_RELEASE = "DELETE FROM review_authors WHERE product_id = ? AND user_id = ? IF review_id = ?"
_LIST_ROW = (
    "INSERT INTO product_reviews (product_id, review_id, status, rating, created_at) "
    "VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?"
)
_LIST = "SELECT review_id, status, rating, created_at FROM product_reviews WHERE product_id = ?"
_HELPFUL = "SELECT review_id, votes FROM product_review_helpful WHERE product_id = ?"
_VOTE = "INSERT INTO review_votes (review_id, user_id) VALUES (?, ?) IF NOT EXISTS"
_COUNT_VOTE = (
    "UPDATE product_review_helpful SET votes = votes + 1 WHERE product_id = ? AND review_id = ?"
)
_REPORT = (
    "INSERT INTO review_reports (review_id, user_id, reason, reported_at) VALUES (?, ?, ?, ?) "
    "IF NOT EXISTS"
)
_QUEUE = "INSERT INTO moderation_queue (shard, queued_at, review_id) VALUES (0, ?, ?)"
_UNQUEUE = "DELETE FROM moderation_queue WHERE shard = 0 AND queued_at = ? AND review_id = ?"
_QUEUED = "SELECT queued_at, review_id FROM moderation_queue WHERE shard = 0 LIMIT ?"


@dataclass(frozen=True)
class ReviewRecord:
    review_id: uuid.UUID
    product_id: uuid.UUID
    user_id: uuid.UUID
    rating: int
    title: str
    body: str
    language: str
    sentiment: float
    status: str  # published | pending | rejected | deleted
    reasons: tuple[str, ...]
    verified_purchase: bool
    reports: int
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True)
class Listed:
    review_id: uuid.UUID
    status: str
    rating: int
    created_at: datetime
    helpful: int = 0


@dataclass
class SideWrites:
    """What follows a won LWT: the list row, the queue change, the events."""

    record: ReviewRecord
    events: list[CloudEvent[Any]] = field(default_factory=list)
    unqueue: datetime | None = None  # the queue row of the previous pending state
    queue: bool = False


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _record(row: Any) -> ReviewRecord:
    return ReviewRecord(
        review_id=row.review_id,
        product_id=row.product_id,
        user_id=row.user_id,
        rating=row.rating,
        title=row.title or "",
        body=row.body or "",
        language=row.language,
        sentiment=row.sentiment,
        status=row.status,
        reasons=tuple(row.reasons or ()),
        verified_purchase=bool(row.verified_purchase),
        reports=row.reports or 0,
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
        version=row.version,
    )


class ReviewStore:
    def __init__(self, db: CassandraSession, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    async def claim_author(
        self, product_id: uuid.UUID, user_id: uuid.UUID, review_id: uuid.UUID
    ) -> uuid.UUID | None:
        """None when the claim is ours; else the review the user already has."""
        page = await self.db.execute_async(_CLAIM, (product_id, user_id, review_id))
        if page.was_applied:
            return None
        existing: uuid.UUID = page.one()[list(page.column_names).index("review_id")]
        return existing

    async def release_author(
        self, product_id: uuid.UUID, user_id: uuid.UUID, review_id: uuid.UUID
    ) -> None:
        await self.db.execute_async(_RELEASE, (product_id, user_id, review_id))

    async def insert(self, record: ReviewRecord) -> None:
        await self.db.execute_async(
            _INSERT,
            (
                record.review_id,
                record.product_id,
                record.user_id,
                record.rating,
                record.title,
                record.body,
                record.language,
                record.sentiment,
                record.status,
                list(record.reasons),
                record.verified_purchase,
                record.reports,
                record.created_at,
                record.updated_at,
                record.version,
            ),
        )

    async def remove(self, review_id: uuid.UUID) -> None:
        """Drop a row no claim points at (its author already had a review)."""
        await self.db.execute_async(_REMOVE, (review_id,))

    async def get(self, review_id: uuid.UUID) -> ReviewRecord | None:
        row = (await self.db.execute_async(_GET, (review_id,))).one()
        return None if row is None else _record(row)

    async def replace(self, record: ReviewRecord, expected_version: int) -> bool:
        """Write `record` if the row is still at `expected_version`; whether it was."""
        page = await self.db.execute_async(
            _UPDATE,
            (
                record.rating,
                record.title,
                record.body,
                record.language,
                record.sentiment,
                record.status,
                list(record.reasons),
                record.reports,
                record.updated_at,
                record.version,
                record.review_id,
                expected_version,
            ),
        )
        return page.was_applied

    async def follow(self, side: SideWrites) -> None:
        """The list row, the queue change and the events of a won write (one batch)."""
        record = side.record
        statements: list[BoundStatement] = []
        prepared: list[tuple[str, tuple[Any, ...]]] = [
            (
                _LIST_ROW,
                (
                    record.product_id,
                    record.review_id,
                    record.status,
                    record.rating,
                    record.created_at,
                    record.version,
                ),
            )
        ]
        if side.unqueue is not None:
            prepared.append((_UNQUEUE, (side.unqueue, record.review_id)))
        if side.queue:
            prepared.append((_QUEUE, (record.updated_at, record.review_id)))
        for cql, values in prepared:
            statement = await self.db.prepare_async(cql)
            statements.append(statement.bind(values))
        await self.outbox.write(statements, side.events)

    async def listed(self, product_id: uuid.UUID, limit: int) -> list[Listed]:
        """The product's reviews as listed (up to `limit`), with their helpful votes."""
        rows = (await self.db.execute_async(_LIST, (product_id,), fetch_size=limit)).rows
        helpful = await self.db.execute_async(_HELPFUL, (product_id,), fetch_size=limit)
        votes = {row.review_id: row.votes for row in helpful.rows}
        return [
            Listed(
                review_id=row.review_id,
                status=row.status,
                rating=row.rating,
                created_at=_utc(row.created_at),
                helpful=votes.get(row.review_id, 0),
            )
            for row in rows
        ]

    async def vote(self, product_id: uuid.UUID, review_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        """Count a helpful vote once per user; whether this one counted."""
        if not (await self.db.execute_async(_VOTE, (review_id, user_id))).was_applied:
            return False
        await self.db.execute_async(_COUNT_VOTE, (product_id, review_id))
        return True

    async def report(
        self, review_id: uuid.UUID, user_id: uuid.UUID, reason: str, at: datetime
    ) -> bool:
        page = await self.db.execute_async(_REPORT, (review_id, user_id, reason, at))
        return page.was_applied

    async def queued(self, limit: int) -> list[uuid.UUID]:
        page = await self.db.execute_async(_QUEUED, (limit,))
        return [row.review_id for row in page.rows]

    async def get_many(self, ids: Sequence[uuid.UUID]) -> list[ReviewRecord]:
        found = [await self.get(review_id) for review_id in ids]
        return [record for record in found if record is not None]
