"""Reviews: writes through moderation, decisions, votes, reports and the lists.

Every change of a review is a lightweight transaction on its row guarded by its
version; the winner then writes the product's list row, the moderation queue and
the events (ReviewPublished when the review is published with its rating,
ReviewRemoved when a published one stops being). A loser reads the row again and
retries a few times before answering 409 `write_contended`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from productstore_common.errors import Problem
from productstore_common.events import CloudEvent, new_event
from productstore_contracts.events.reviews import (
    REVIEWS_SOURCE,
    DecidedBy,
    RemovalReason,
    ReviewModerated,
    ReviewPublished,
    ReviewRemoved,
)
from productstore_reviews.app.core import errors
from productstore_reviews.app.data.reviews import Listed, ReviewRecord, ReviewStore, SideWrites
from productstore_reviews.app.models import ReviewCreate, ReviewSort, ReviewUpdate
from productstore_reviews.app.services.metrics import ReviewsMetrics
from productstore_reviews.app.services.purchases import PurchaseVerifier
from productstore_reviews.moderation import Decision, Moderator, Verdict

_ROUNDS = 5
_STATUS = {
    Decision.publish: "published",
    Decision.queue: "pending",
    Decision.reject: "rejected",
}


def next_version(previous: int | None = None) -> int:
    """Microseconds since the epoch, or the previous version plus one if that is later."""
    now = time.time_ns() // 1000
    return now if previous is None else max(now, previous + 1)


def version_time(version: int) -> datetime:
    """The version as a timestamp at Cassandra's millisecond precision."""
    return datetime.fromtimestamp(version // 1000 / 1000, UTC)


def _event(payload: ReviewPublished | ReviewRemoved | ReviewModerated) -> CloudEvent[Any]:
    # Keyed by product: one product's reviews reach the catalog in order.
    return new_event(payload, source=REVIEWS_SOURCE, subject=str(payload.product_id))


def transition(
    before: ReviewRecord | None,
    after: ReviewRecord,
    removal: RemovalReason,
    decided_by: DecidedBy = "automatic",
) -> SideWrites:
    """The list row, queue change and events that take `before` to `after` (a
    moderator's decision, or the automatic moderation's on write and edit)."""
    side = SideWrites(record=after)
    was_published = before is not None and before.status == "published"
    if after.status == "published":
        side.events.append(
            _event(
                ReviewPublished(
                    review_id=after.review_id,
                    product_id=after.product_id,
                    version=after.version,
                    user_id=after.user_id,
                    rating=after.rating,
                    verified_purchase=after.verified_purchase,
                )
            )
        )
    elif was_published:
        side.events.append(
            _event(
                ReviewRemoved(
                    review_id=after.review_id,
                    product_id=after.product_id,
                    version=after.version,
                    reason=removal,
                )
            )
        )
    outcome = _outcome(before, after, decided_by)
    if outcome is not None:
        side.events.append(
            _event(
                ReviewModerated(
                    review_id=after.review_id,
                    product_id=after.product_id,
                    version=after.version,
                    user_id=after.user_id,
                    outcome=outcome,
                    decided_by=decided_by,
                    reasons=list(after.reasons) if outcome == "rejected" else [],
                )
            )
        )
    if before is not None and before.status == "pending":
        side.unqueue = before.updated_at
    side.queue = after.status == "pending"
    return side


def _outcome(
    before: ReviewRecord | None, after: ReviewRecord, decided_by: DecidedBy
) -> Literal["approved", "rejected"] | None:
    """What to tell the author: a moderator's approval or rejection, or an automatic
    rejection (a review published on write needs no word; nor a decision that changed
    nothing)."""
    if before is not None and before.status == after.status:
        return None
    if after.status == "rejected":
        return "rejected"
    if after.status == "published" and decided_by == "moderator":
        return "approved"
    return None


class Reviews:
    def __init__(
        self,
        store: ReviewStore,
        moderator: Moderator,
        purchases: PurchaseVerifier,
        metrics: ReviewsMetrics,
        *,
        reports_to_queue: int,
        max_sorted: int,
    ) -> None:
        self.store = store
        self.moderator = moderator
        self.purchases = purchases
        self.metrics = metrics
        self.reports_to_queue = reports_to_queue
        self.max_sorted = max_sorted

    async def classify(self, title: str, body: str, rating: int) -> Verdict:
        # py3langid and pymorphy3 are CPU work: off the event loop.
        verdict = await asyncio.to_thread(self.moderator.classify, title, body, rating)
        self.metrics.decisions.labels(verdict.decision.value, verdict.language).inc()
        for reason in verdict.reasons:
            self.metrics.reasons.labels(reason).inc()
        return verdict

    async def create(self, user_id: uuid.UUID, body: ReviewCreate) -> ReviewRecord:
        """The review row is written before the (user, product) claim, so a claim always
        points at a written row: a claim whose row is missing can only be left by a
        crash, and one whose row is deleted is free (see _claim)."""
        review_id = uuid.uuid4()
        verdict = await self.classify(body.title, body.body, body.rating)
        version = next_version()
        at = version_time(version)
        record = ReviewRecord(
            review_id=review_id,
            product_id=body.product_id,
            user_id=user_id,
            rating=body.rating,
            title=body.title,
            body=body.body,
            language=verdict.language,
            sentiment=verdict.sentiment,
            status=_STATUS[verdict.decision],
            reasons=verdict.reasons,
            verified_purchase=await self.purchases.delivered(user_id, body.product_id),
            reports=0,
            created_at=at,
            updated_at=at,
            version=version,
        )
        await self.store.insert(record)
        try:
            await self._claim(body.product_id, user_id, review_id)
        except Problem:
            # Not this user's review of the product: the row no claim points at goes.
            await self.store.remove(review_id)
            raise
        await self.store.follow(transition(None, record, "edited"))
        return record

    async def _claim(self, product_id: uuid.UUID, user_id: uuid.UUID, review_id: uuid.UUID) -> None:
        """Make `review_id` (already written) the user's one review of the product, or
        raise 409. A claim whose review was deleted (a crash between the delete and
        the release) or is missing (written by an older version that claimed first)
        is released and taken over."""
        for _ in range(_ROUNDS):
            existing = await self.store.claim_author(product_id, user_id, review_id)
            if existing is None:
                return
            held = await self.store.get(existing)
            if held is not None and held.status != "deleted":
                raise errors.already_reviewed(product_id, existing)
            await self.store.release_author(product_id, user_id, existing)
        raise errors.contended(review_id)

    async def get(self, review_id: uuid.UUID) -> ReviewRecord:
        record = await self.store.get(review_id)
        if record is None or record.status == "deleted":
            raise errors.review_not_found(review_id)
        return record

    async def _authored(self, review_id: uuid.UUID, user_id: uuid.UUID) -> ReviewRecord:
        record = await self.get(review_id)
        if record.user_id != user_id:
            raise errors.not_the_author(review_id)
        return record

    async def _write(
        self,
        before: ReviewRecord,
        after: ReviewRecord,
        removal: RemovalReason,
        *,
        decided_by: DecidedBy = "automatic",
    ) -> bool:
        if not await self.store.replace(after, before.version):
            return False
        await self.store.follow(transition(before, after, removal, decided_by))
        return True

    def _stamped(self, before: ReviewRecord, **changes: Any) -> ReviewRecord:
        version = next_version(before.version)
        return replace(before, **changes, version=version, updated_at=version_time(version))

    async def edit(
        self, review_id: uuid.UUID, user_id: uuid.UUID, body: ReviewUpdate
    ) -> ReviewRecord:
        """Moderated again, as a new review would be; reports start over."""
        for _ in range(_ROUNDS):
            before = await self._authored(review_id, user_id)
            rating = before.rating if body.rating is None else body.rating
            title = before.title if body.title is None else body.title
            text = before.body if body.body is None else body.body
            verdict = await self.classify(title, text, rating)
            after = self._stamped(
                before,
                rating=rating,
                title=title,
                body=text,
                language=verdict.language,
                sentiment=verdict.sentiment,
                status=_STATUS[verdict.decision],
                reasons=verdict.reasons,
                reports=0,
            )
            if await self._write(before, after, "edited"):
                return after
        raise errors.contended(review_id)

    async def delete(self, review_id: uuid.UUID, user_id: uuid.UUID) -> None:
        for _ in range(_ROUNDS):
            before = await self._authored(review_id, user_id)
            after = self._stamped(before, status="deleted")
            if await self._write(before, after, "deleted"):
                await self.store.release_author(before.product_id, user_id, review_id)
                return
        raise errors.contended(review_id)

    async def decide(self, review_id: uuid.UUID, *, approve: bool) -> ReviewRecord:
        """A moderator's decision; deciding again the same way changes nothing."""
        status = "published" if approve else "rejected"
        for _ in range(_ROUNDS):
            before = await self.get(review_id)
            if before.status == status:
                return before
            after = self._stamped(
                before, status=status, reasons=before.reasons if not approve else ()
            )
            if approve:
                after = replace(after, reports=0)
            if await self._write(before, after, "rejected", decided_by="moderator"):
                return after
        raise errors.contended(review_id)

    async def helpful(self, review_id: uuid.UUID, user_id: uuid.UUID) -> ReviewRecord:
        record = await self.get(review_id)
        if record.status != "published":
            raise errors.not_published(review_id)
        if record.user_id == user_id:
            raise errors.own_review(review_id)
        if not await self.store.vote(record.product_id, review_id, user_id):
            raise errors.already_voted(review_id)
        return record

    async def report(self, review_id: uuid.UUID, user_id: uuid.UUID, reason: str) -> None:
        """Counted once per user; enough reports take a published review back to the
        moderators (ReviewRemoved `reported`)."""
        record = await self.get(review_id)
        if record.status != "published":
            raise errors.not_published(review_id)
        if record.user_id == user_id:
            raise errors.own_review(review_id)
        if not await self.store.report(review_id, user_id, reason, datetime.now(UTC)):
            raise errors.already_reported(review_id)
        for _ in range(_ROUNDS):
            before = await self.get(review_id)
            reports = before.reports + 1
            queue = before.status == "published" and reports >= self.reports_to_queue
            after = self._stamped(
                before,
                reports=reports,
                status="pending" if queue else before.status,
                reasons=(*before.reasons, "reported") if queue else before.reasons,
            )
            if await self._write(before, after, "reported"):
                return
        raise errors.contended(review_id)

    async def page(
        self, product_id: uuid.UUID, sort: ReviewSort, limit: int, cursor: str | None
    ) -> tuple[list[tuple[ReviewRecord, int]], str | None]:
        """A page of the product's published reviews, and the next page's cursor."""
        offset = _offset(cursor, product_id, sort)
        listed = [
            row
            for row in await self.store.listed(product_id, self.max_sorted)
            if row.status == "published"
        ]
        listed.sort(key=_SORTS[sort])
        chunk = listed[offset : offset + limit]
        records = await asyncio.gather(*(self.store.get(row.review_id) for row in chunk))
        helpful = {row.review_id: row.helpful for row in chunk}
        items = [
            (record, helpful[record.review_id])
            for record in records
            if record is not None and record.status == "published"
        ]
        more = offset + limit < len(listed)
        return items, _cursor(product_id, sort, offset + limit) if more else None

    async def moderation_queue(self, limit: int) -> list[ReviewRecord]:
        records = await self.store.get_many(await self.store.queued(limit))
        return [record for record in records if record.status == "pending"]


_SORTS = {
    ReviewSort.helpful: lambda row: (-row.helpful, -row.created_at.timestamp(), row.review_id),
    ReviewSort.newest: lambda row: (-row.created_at.timestamp(), row.review_id),
    ReviewSort.rating: lambda row: (-row.rating, -row.created_at.timestamp(), row.review_id),
}


def _cursor(product_id: uuid.UUID, sort: ReviewSort, offset: int) -> str:
    raw = json.dumps({"p": str(product_id), "s": sort.value, "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(cursor: str | None, product_id: uuid.UUID, sort: ReviewSort) -> int:
    if cursor is None:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = decoded["o"]
        if decoded["p"] != str(product_id) or decoded["s"] != sort.value:
            raise errors.invalid_cursor()
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise errors.invalid_cursor() from exc
    if not isinstance(offset, int) or offset < 0:
        raise errors.invalid_cursor()
    return offset


__all__ = ["Listed", "Reviews"]
