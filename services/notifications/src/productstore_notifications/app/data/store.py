"""Cassandra access: preferences, order owners, delivery claims, the log, the inbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cassandra.query import BatchStatement, BatchType
from cassandra.util import datetime_from_uuid1, uuid_from_time

from productstore_common.cassandra import CassandraSession

# The admin's delivery listing reads this many days back at most.
LOG_DAYS = 7
# promotion_audience: partitions per locale (a bucket of the user id).
AUDIENCE_BUCKETS = 16


def audience_bucket(user_id: uuid.UUID) -> int:
    return user_id.int % AUDIENCE_BUCKETS


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PreferencesRecord:
    locale: str
    phone: str | None
    opt_outs: frozenset[str]  # "topic:channel"
    updated_at: datetime | None
    # SMS delivery updates only when the user said yes (and gave a phone).
    sms_opt_in: bool = False
    # Promotional broadcasts only when the user consented.
    promotions: bool = False
    # The phone a code sent to it proved (SMS goes only to `phone` when it is this).
    phone_verified: str | None = None

    @property
    def verified_phone(self) -> str | None:
        """The phone SMS may go to: `phone`, when the user proved they hold it."""
        return self.phone if self.phone and self.phone == self.phone_verified else None


@dataclass(frozen=True)
class PhoneCode:
    """A pending one-time code: its keyed hash, the phone it went to, wrong guesses."""

    phone: str
    code_hash: bytes
    attempts: int
    expires_at: datetime


DEFAULT_PREFERENCES = PreferencesRecord(
    locale="en",
    phone=None,
    opt_outs=frozenset(),
    updated_at=None,
    sms_opt_in=False,
    promotions=False,
)


@dataclass(frozen=True)
class OrderOwner:
    user_id: uuid.UUID
    total: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class DeliveryRecord:
    at: datetime
    event_id: uuid.UUID
    recipient: str
    channel: str
    topic: str
    attempt: int
    provider: str
    outcome: str
    latency_ms: float
    error: str | None


@dataclass(frozen=True)
class DeadLetter:
    event_id: uuid.UUID
    recipient: str
    channel: str
    topic: str
    user_id: uuid.UUID | None  # None: to the admins' chats
    locale: str
    subject: str
    text: str
    html: str
    attempts: int
    last_error: str
    failed_at: datetime


@dataclass(frozen=True)
class InboxRecord:
    notification_id: uuid.UUID
    topic: str
    title: str
    body: str
    read: bool
    created_at: datetime


class NotificationStore:
    def __init__(self, db: CassandraSession) -> None:
        self.db = db

    # --- preferences ---------------------------------------------------------
    async def preferences(self, user_id: uuid.UUID) -> PreferencesRecord:
        page = await self.db.execute_async(
            "SELECT locale, phone, opt_outs, updated_at, sms_opt_in, promotions, phone_verified "
            "FROM preferences WHERE user_id = ?",
            (user_id,),
        )
        row = page.one()
        if row is None:
            return DEFAULT_PREFERENCES
        return PreferencesRecord(
            locale=row.locale or "en",
            phone=row.phone,
            opt_outs=frozenset(row.opt_outs or ()),
            updated_at=_aware(row.updated_at) if row.updated_at else None,
            sms_opt_in=bool(row.sms_opt_in),
            promotions=bool(row.promotions),
            phone_verified=row.phone_verified,
        )

    async def put_preferences(self, user_id: uuid.UUID, record: PreferencesRecord) -> None:
        """The document, and the user's row of the promotions audience, in one logged
        batch. Broadcasts check the preferences again per user, so an audience row left
        by two racing writes sends nothing the preferences do not allow."""
        before = await self.preferences(user_id)
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        bucket = audience_bucket(user_id)
        if before.promotions and (not record.promotions or before.locale != record.locale):
            batch.add(
                await self.db.prepare_async(
                    "DELETE FROM promotion_audience WHERE locale = ? AND bucket = ? AND user_id = ?"
                ),
                (before.locale, bucket, user_id),
            )
        if record.promotions:
            batch.add(
                await self.db.prepare_async(
                    "INSERT INTO promotion_audience (locale, bucket, user_id) VALUES (?, ?, ?)"
                ),
                (record.locale, bucket, user_id),
            )
        batch.add(
            await self.db.prepare_async(
                "INSERT INTO preferences (user_id, locale, phone, opt_outs, updated_at, "
                "sms_opt_in, promotions) VALUES (?, ?, ?, ?, ?, ?, ?)"
            ),
            (
                user_id,
                record.locale,
                record.phone,
                set(record.opt_outs),
                record.updated_at,
                record.sms_opt_in,
                record.promotions,
            ),
        )
        await self.db.execute_async(batch)

    # --- phone verification ---------------------------------------------------
    async def save_phone_code(self, user_id: uuid.UUID, code: PhoneCode, ttl_seconds: int) -> None:
        """The user's pending code (replacing one before it), alive while it is valid."""
        await self.db.execute_async(
            "INSERT INTO phone_codes (user_id, phone, code_hash, attempts, expires_at) "
            "VALUES (?, ?, ?, ?, ?) USING TTL ?",
            (user_id, code.phone, code.code_hash, code.attempts, code.expires_at, ttl_seconds),
        )

    async def phone_code(self, user_id: uuid.UUID) -> PhoneCode | None:
        page = await self.db.execute_async(
            "SELECT phone, code_hash, attempts, expires_at FROM phone_codes WHERE user_id = ?",
            (user_id,),
        )
        row = page.one()
        if row is None or row.code_hash is None:
            return None
        return PhoneCode(row.phone, bytes(row.code_hash), row.attempts or 0, _aware(row.expires_at))

    async def count_guess(self, user_id: uuid.UUID, seen: PhoneCode) -> bool:
        """One more guess, if the row is still the one read (compare-and-set: of two
        parallel guesses one counts first, the other reads again). The TTL stays."""
        ttl = max(1, int((seen.expires_at - datetime.now(UTC)).total_seconds()))
        page = await self.db.execute_async(
            "UPDATE phone_codes USING TTL ? SET attempts = ? WHERE user_id = ? "
            "IF attempts = ? AND code_hash = ?",
            (ttl, seen.attempts + 1, user_id, seen.attempts, seen.code_hash),
        )
        return bool(page.was_applied)

    async def forget_phone_code(self, user_id: uuid.UUID) -> None:
        await self.db.execute_async("DELETE FROM phone_codes WHERE user_id = ?", (user_id,))

    async def mark_phone_verified(self, user_id: uuid.UUID, phone: str, now: datetime) -> bool:
        """Record `phone` as proved, if it is still the user's phone (compare-and-set)."""
        page = await self.db.execute_async(
            "UPDATE preferences SET phone_verified = ?, updated_at = ? WHERE user_id = ? "
            "IF phone = ?",
            (phone, now, user_id, phone),
        )
        return bool(page.was_applied)

    async def opt_out(self, user_id: uuid.UUID, pair: str, now: datetime) -> None:
        """Add one "topic:channel" opt-out (a set append: no read, no lost update)."""
        await self.db.execute_async(
            "UPDATE preferences SET opt_outs = opt_outs + ?, updated_at = ? WHERE user_id = ?",
            ({pair}, now, user_id),
        )

    # --- order owners ----------------------------------------------------------
    async def remember_order(
        self,
        order_id: uuid.UUID,
        owner: OrderOwner,
        placed_at: datetime,
    ) -> None:
        await self.db.execute_async(
            "INSERT INTO orders_seen (order_id, user_id, total, currency, placed_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (order_id, owner.user_id, owner.total, owner.currency, placed_at),
        )

    async def order_owner(self, order_id: uuid.UUID) -> OrderOwner | None:
        page = await self.db.execute_async(
            "SELECT user_id, total, currency FROM orders_seen WHERE order_id = ?", (order_id,)
        )
        row = page.one()
        if row is None:
            return None
        return OrderOwner(user_id=row.user_id, total=row.total, currency=row.currency)

    # --- claims -------------------------------------------------------------------
    async def claim(
        self, event_id: uuid.UUID, recipient: str, channel: str, owner: str, now: datetime
    ) -> bool:
        """True when this caller made the claim (and so sends); False when anyone had."""
        page = await self.db.execute_async(
            "INSERT INTO delivery_claims (event_id, recipient, channel, status, owner, "
            "claimed_at, updated_at) VALUES (?, ?, ?, 'claimed', ?, ?, ?) IF NOT EXISTS",
            (event_id, recipient, channel, owner, now, now),
        )
        return bool(page.was_applied)

    async def settle(
        self, event_id: uuid.UUID, recipient: str, channel: str, status: str, now: datetime
    ) -> None:
        await self.db.execute_async(
            "UPDATE delivery_claims SET status = ?, updated_at = ? "
            "WHERE event_id = ? AND recipient = ? AND channel = ?",
            (status, now, event_id, recipient, channel),
        )

    async def claim_status(self, event_id: uuid.UUID, recipient: str, channel: str) -> str | None:
        page = await self.db.execute_async(
            "SELECT status FROM delivery_claims "
            "WHERE event_id = ? AND recipient = ? AND channel = ?",
            (event_id, recipient, channel),
        )
        row = page.one()
        return None if row is None else str(row.status)

    # --- the log --------------------------------------------------------------------
    async def log(self, record: DeliveryRecord) -> None:
        at = _aware(record.at)
        await self.db.execute_async(
            "INSERT INTO deliveries (day, at, event_id, recipient, channel, topic, attempt, "
            "provider, outcome, latency_ms, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                at.strftime("%Y-%m-%d"),
                uuid_from_time(at),
                record.event_id,
                record.recipient,
                record.channel,
                record.topic,
                record.attempt,
                record.provider,
                record.outcome,
                record.latency_ms,
                record.error,
            ),
        )

    async def log_attempt(
        self,
        event_id: uuid.UUID,
        recipient: str,
        channel: str,
        topic: str,
        *,
        at: datetime,
        attempt: int,
        provider: str,
        outcome: str,
        latency_ms: float = 0.0,
        error: str | None = None,
    ) -> None:
        """One attempt of one message into the log (every channel's senders write it so)."""
        await self.log(
            DeliveryRecord(
                at=at,
                event_id=event_id,
                recipient=recipient,
                channel=channel,
                topic=topic,
                attempt=attempt,
                provider=provider,
                outcome=outcome,
                latency_ms=latency_ms,
                error=error,
            )
        )

    async def deliveries(
        self, *, now: datetime, limit: int, outcome: str | None, channel: str | None
    ) -> list[DeliveryRecord]:
        """Newest first over the last LOG_DAYS days, filtered here (a day's partition
        is read a page at a time, so a filter that matches little costs reads, not memory)."""
        found: list[DeliveryRecord] = []
        for back in range(LOG_DAYS):
            day = (now - timedelta(days=back)).strftime("%Y-%m-%d")
            async for row in _rows(
                self.db,
                "SELECT at, event_id, recipient, channel, topic, attempt, provider, outcome, "
                "latency_ms, error FROM deliveries WHERE day = ?",
                (day,),
            ):
                if outcome is not None and row.outcome != outcome:
                    continue
                if channel is not None and row.channel != channel:
                    continue
                found.append(_delivery(row))
                if len(found) >= limit:
                    return found
        return found

    async def dead_letter(self, letter: DeadLetter) -> None:
        await self.db.execute_async(
            "INSERT INTO dead_letters (event_id, recipient, channel, topic, user_id, locale, "
            "subject, text_body, html_body, attempts, last_error, failed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                letter.event_id,
                letter.recipient,
                letter.channel,
                letter.topic,
                letter.user_id,
                letter.locale,
                letter.subject,
                letter.text,
                letter.html,
                letter.attempts,
                letter.last_error,
                letter.failed_at,
            ),
        )

    async def dead_letter_of(
        self, event_id: uuid.UUID, recipient: str, channel: str
    ) -> DeadLetter | None:
        page = await self.db.execute_async(
            "SELECT topic, user_id, locale, subject, text_body, html_body, attempts, "
            "last_error, failed_at FROM dead_letters "
            "WHERE event_id = ? AND recipient = ? AND channel = ?",
            (event_id, recipient, channel),
        )
        row = page.one()
        if row is None:
            return None
        return DeadLetter(
            event_id=event_id,
            recipient=recipient,
            channel=channel,
            topic=row.topic,
            user_id=row.user_id,
            locale=row.locale,
            subject=row.subject,
            text=row.text_body,
            html=row.html_body,
            attempts=int(row.attempts),
            last_error=row.last_error,
            failed_at=_aware(row.failed_at),
        )

    async def forget_dead_letter(self, event_id: uuid.UUID, recipient: str, channel: str) -> None:
        await self.db.execute_async(
            "DELETE FROM dead_letters WHERE event_id = ? AND recipient = ? AND channel = ?",
            (event_id, recipient, channel),
        )

    async def reclaim(
        self, event_id: uuid.UUID, recipient: str, channel: str, owner: str, now: datetime
    ) -> bool:
        """Take a dead-lettered message's claim back to send it again (one replayer wins)."""
        page = await self.db.execute_async(
            "UPDATE delivery_claims SET status = 'claimed', owner = ?, updated_at = ? "
            "WHERE event_id = ? AND recipient = ? AND channel = ? IF status = 'dead_lettered'",
            (owner, now, event_id, recipient, channel),
        )
        return bool(page.was_applied)

    # --- the inbox --------------------------------------------------------------------
    async def add_to_inbox(
        self, user_id: uuid.UUID, topic: str, title: str, body: str, now: datetime
    ) -> uuid.UUID:
        notification_id: uuid.UUID = uuid_from_time(now)
        await self.db.execute_async(
            "INSERT INTO inbox (user_id, notification_id, topic, title, body, read, created_at) "
            "VALUES (?, ?, ?, ?, ?, false, ?)",
            (user_id, notification_id, topic, title, body, now),
        )
        return notification_id

    async def inbox(
        self, user_id: uuid.UUID, *, limit: int, unread_only: bool
    ) -> list[InboxRecord]:
        found: list[InboxRecord] = []
        async for row in _rows(
            self.db,
            "SELECT notification_id, topic, title, body, read, created_at FROM inbox "
            "WHERE user_id = ?",
            (user_id,),
        ):
            if unread_only and row.read:
                continue
            found.append(
                InboxRecord(
                    notification_id=row.notification_id,
                    topic=row.topic,
                    title=row.title,
                    body=row.body,
                    read=bool(row.read),
                    created_at=_aware(row.created_at),
                )
            )
            if len(found) >= limit:
                break
        return found

    async def mark_read(self, user_id: uuid.UUID, notification_id: uuid.UUID) -> bool:
        """False when the user has no such notification."""
        page = await self.db.execute_async(
            "UPDATE inbox SET read = true WHERE user_id = ? AND notification_id = ? IF EXISTS",
            (user_id, notification_id),
        )
        return bool(page.was_applied)


async def _rows(
    db: CassandraSession, cql: str, parameters: tuple[Any, ...], fetch_size: int = 200
) -> AsyncIterator[Any]:
    """Every row, a page at a time (a page never fetches more by itself)."""
    paging_state: bytes | None = None
    while True:
        page = await db.execute_async(
            cql, parameters, paging_state=paging_state, fetch_size=fetch_size
        )
        for row in page.rows:
            yield row
        if page.paging_state is None:
            return
        paging_state = page.paging_state


def _delivery(row: Any) -> DeliveryRecord:
    at = datetime_from_uuid1(row.at).replace(tzinfo=UTC)
    return DeliveryRecord(
        at=at,
        event_id=row.event_id,
        recipient=row.recipient,
        channel=row.channel,
        topic=row.topic,
        attempt=int(row.attempt),
        provider=row.provider,
        outcome=row.outcome,
        latency_ms=float(row.latency_ms),
        error=row.error,
    )
