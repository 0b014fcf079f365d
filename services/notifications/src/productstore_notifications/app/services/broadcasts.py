"""Admins' promotions to a segment: sent by one replica at a time, at a bounded rate,
a page of recipients at a time, resumable after a crash without sending twice.

A broadcast's id is the event id of every message it sends, so each message is claimed
per (broadcast, user, channel) like any other (services/notifier). The sender holds a
lease on the broadcast row (LWT) and moves its cursor, renewing the lease, after each
page. If it dies, its lease runs out; any replica's ticker takes the broadcast over and
starts again at the saved cursor: the users of the interrupted page that were already
sent find their claims and get nothing more (ADR 0030).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from productstore_common.errors import problem
from productstore_common.events.background import BackgroundLoop
from productstore_common.ratelimit import RateLimit, RateLimitedError, RateLimiter
from productstore_notifications.app.data.broadcasts import BroadcastRecord, BroadcastStore, Cursor
from productstore_notifications.app.data.store import AUDIENCE_BUCKETS, NotificationStore
from productstore_notifications.app.models import (
    BroadcastCreate,
    BroadcastPublic,
    Locale,
    Segment,
)
from productstore_notifications.app.services.notifier import Notifier
from productstore_notifications.app.services.rendering import PromotionFacts

_logger = logging.getLogger(__name__)
LOCALES: tuple[Locale, ...] = ("en", "ru")


class Broadcasts(BackgroundLoop):
    """Creates broadcasts and sends them; its loop takes over broadcasts whose sender
    stopped renewing its lease."""

    def __init__(
        self,
        store: BroadcastStore,
        notifications: NotificationStore,
        notifier: Notifier,
        limiter: RateLimiter,
        *,
        per_admin_hourly: int,
        owner: str,
        page_size: int,
        per_second: float,
        lease_seconds: float,
        tick_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(task_name="notifications-broadcasts", stop_timeout=5.0)
        self.store = store
        self.notifications = notifications
        self.notifier = notifier
        self.limiter = limiter
        # A broadcast reaches many people: a script gone wrong must not send ten.
        self.per_admin = RateLimit("broadcasts", rate=per_admin_hourly, per=3600)
        self.owner = owner
        self.page_size = page_size
        self.interval = 1.0 / per_second
        self.lease = timedelta(seconds=lease_seconds)
        self.tick_seconds = tick_seconds
        self.clock = clock
        self._senders: dict[uuid.UUID, asyncio.Task[str]] = {}

    # --- the API ---------------------------------------------------------------
    async def create(self, body: BroadcastCreate, created_by: str) -> BroadcastPublic:
        """Checked after the body was (so a refused request spends no budget)."""
        decision = await self.limiter.check(self.per_admin, created_by)
        if not decision.allowed:
            raise RateLimitedError(self.per_admin, decision)
        record = BroadcastRecord(
            broadcast_id=uuid.uuid4(),
            locale=body.segment.locale,
            subjects=_texts(body.subject.en, body.subject.ru),
            bodies=_texts(body.body.en, body.body.ru),
            status="running",
            cursor=None,
            recipients=0,
            created_by=created_by,
            created_at=self.clock(),
            finished_at=None,
        )
        await self.store.create(record)
        self.start_sending(record.broadcast_id)
        return _public(record)

    async def get(self, broadcast_id: uuid.UUID) -> BroadcastPublic:
        record = await self.store.get(broadcast_id)
        if record is None:
            raise problem(404, "broadcast_not_found", f"There is no broadcast {broadcast_id}.")
        return _public(record)

    # --- sending ------------------------------------------------------------------
    def start_sending(self, broadcast_id: uuid.UUID) -> None:
        """Send it in the background unless this process already does, or is stopping
        (a sender started then would outlive the Cassandra session it writes to)."""
        if broadcast_id in self._senders or self._stop.is_set():
            return
        task = asyncio.create_task(self.send(broadcast_id), name=f"broadcast-{broadcast_id}")
        self._senders[broadcast_id] = task
        task.add_done_callback(lambda _: self._senders.pop(broadcast_id, None))

    async def send(self, broadcast_id: uuid.UUID) -> str:
        """`done`; `busy` (another replica holds the lease, or it is done); `lost_lease`."""
        now = self.clock()
        if not await self.store.take_lease(broadcast_id, self.owner, now, now + self.lease):
            found = await self.store.get(broadcast_id)
            if found is None or found.status == "done":
                # Finished by a sender that died before it could say so.
                await self.store.forget_running(broadcast_id)
            return "busy"
        record = await self.store.get(broadcast_id)
        if record is None:
            return "busy"
        partitions = [
            (locale, bucket)
            for locale in (LOCALES if record.locale is None else (record.locale,))
            for bucket in range(AUDIENCE_BUCKETS)
        ]
        cursor = record.cursor or Cursor(partitions[0][0], partitions[0][1], None)
        index = partitions.index((cursor.locale, cursor.bucket))
        after, recipients = cursor.user_id, record.recipients
        next_send = time.monotonic()
        while index < len(partitions):
            locale, bucket = partitions[index]
            users = await self.store.audience(locale, bucket, after, self.page_size)
            for user_id in users:
                preferences = await self.notifications.preferences(user_id)
                # The audience table is an index; the preferences decide.
                if not preferences.promotions or preferences.locale != locale:
                    continue
                await asyncio.sleep(max(0.0, next_send - time.monotonic()))
                next_send = max(next_send, time.monotonic()) + self.interval
                outcomes = await self.notifier.notify(
                    broadcast_id,
                    "promotion",
                    user_id,
                    PromotionFacts(
                        subject=_pick(record.subjects, locale), body=_pick(record.bodies, locale)
                    ),
                    preferences=preferences,
                )
                if any(outcome in {"sent", "duplicate"} for outcome in outcomes.values()):
                    recipients += 1
            if len(users) < self.page_size:
                index += 1
                after = None
                if index == len(partitions):
                    break
                cursor = Cursor(partitions[index][0], partitions[index][1], None)
            else:
                after = users[-1]
                cursor = Cursor(locale, bucket, after)
            now = self.clock()
            if not await self.store.save_progress(
                broadcast_id, self.owner, cursor, recipients, now + self.lease
            ):
                _logger.warning("broadcast lease lost", extra={"broadcast_id": str(broadcast_id)})
                return "lost_lease"
        await self.store.finish(broadcast_id, self.owner, recipients, self.clock())
        _logger.info(
            "broadcast sent", extra={"broadcast_id": str(broadcast_id), "recipients": recipients}
        )
        return "done"

    # --- the takeover loop ----------------------------------------------------------
    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                for broadcast_id in await self.store.running():
                    self.start_sending(broadcast_id)
            except Exception:
                # Cassandra away, say: the next tick looks again.
                _logger.warning("running broadcasts not checked", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.tick_seconds)

    async def stop(self) -> None:
        # The takeover loop first: while it ran, a tick could start a sender after the
        # senders were cancelled, which then met the closed Cassandra session.
        await super().stop()
        # A sender stopped mid-page is a crash as far as the broadcast is concerned:
        # its lease runs out and a replica resumes it from the saved cursor.
        senders = list(self._senders.values())
        for task in senders:
            task.cancel()
        for task in senders:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _texts(en: str, ru: str | None) -> dict[str, str]:
    return {"en": en} if ru is None else {"en": en, "ru": ru}


def _pick(texts: dict[str, str], locale: str) -> str:
    return texts.get(locale) or texts["en"]


def _public(record: BroadcastRecord) -> BroadcastPublic:
    return BroadcastPublic(
        id=record.broadcast_id,
        segment=Segment(locale=record.locale),  # type: ignore[arg-type]  # stored from a Locale
        status="done" if record.status == "done" else "running",
        recipients=record.recipients,
        created_at=record.created_at,
        finished_at=record.finished_at,
    )
