"""Which events a consumer group has handled: claims and done-marks in ``processed_events``.

Before its handler runs, a consumer claims the event with an LWT
(``INSERT ... IF NOT EXISTS USING TTL claim_ttl``); after the handler it marks
it ``done`` (or ``dead_lettered``) under the long dedupe TTL. A redelivery
(crash before the offset commit, rebalance, a copy re-published by the relay)
then finds the mark and skips the handler. A claim held by another consumer
means it is handling the event right now (a rebalance overlap): wait for its
mark. A live consumer renews its claim while it handles the event (``renew``,
every third of ``claim_ttl``), so the TTL can be short: a consumer that died
mid-handler (SIGKILL, OOM) leaves a claim that expires within ``claim_ttl``,
and the event is handled again: the one case where a handler can run twice, so
handlers that must never repeat a side effect write it idempotently (keyed by
the event id) as well.

All statements on these rows are LWTs: mixing LWT and plain writes on one row
is unsafe in Cassandra (their timestamps do not order against each other).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from productstore_common.cassandra import CassandraSession

CLAIM_CQL = (
    "INSERT INTO processed_events (consumer_group, event_id, status, owner, event_type, "
    "updated_at) VALUES (?, ?, 'processing', ?, ?, ?) IF NOT EXISTS USING TTL ?"
)
# Every column is set again: each cell keeps the TTL it was written with.
FINISH_CQL = (
    "UPDATE processed_events USING TTL ? SET status = ?, owner = ?, event_type = ?, "
    "updated_at = ? WHERE consumer_group = ? AND event_id = ? IF owner = ?"
)
# The claim kept alive under a fresh TTL, only by its owner.
RENEW_CQL = (
    "UPDATE processed_events USING TTL ? SET status = 'processing', owner = ?, "
    "event_type = ?, updated_at = ? WHERE consumer_group = ? AND event_id = ? IF owner = ?"
)
# When the claim expired meanwhile (Cassandra was down longer than its TTL).
FINISH_UNCLAIMED_CQL = (
    "INSERT INTO processed_events (consumer_group, event_id, status, owner, event_type, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?"
)
RELEASE_CQL = "DELETE FROM processed_events WHERE consumer_group = ? AND event_id = ? IF owner = ?"

Claim = Literal["claimed", "finished", "busy"]
FinalStatus = Literal["done", "dead_lettered"]
FINISHED = frozenset({"done", "dead_lettered"})


class ProcessedEvents:
    def __init__(
        self,
        session: CassandraSession,
        *,
        group: str,
        owner: str,
        claim_ttl_seconds: int,
        dedupe_ttl_seconds: int,
    ) -> None:
        if claim_ttl_seconds < 1 or dedupe_ttl_seconds < claim_ttl_seconds:
            raise ValueError("need 1 <= claim_ttl_seconds <= dedupe_ttl_seconds")
        self.session = session
        self.group = group
        self.owner = owner
        self.claim_ttl_seconds = claim_ttl_seconds
        self.dedupe_ttl_seconds = dedupe_ttl_seconds

    async def claim(self, event_id: uuid.UUID, event_type: str) -> Claim:
        """``claimed``: handle it; ``finished``: a duplicate; ``busy``: another consumer has it."""
        page = await self.session.execute_async(
            CLAIM_CQL,
            (
                self.group,
                event_id,
                self.owner,
                event_type,
                datetime.now(UTC),
                self.claim_ttl_seconds,
            ),
        )
        if page.was_applied:
            return "claimed"
        existing = page.one()
        status = getattr(existing, "status", None)
        if status in FINISHED:
            return "finished"
        if getattr(existing, "owner", None) == self.owner:
            return "claimed"  # ours from an attempt that did not finish
        return "busy"

    async def renew(self, event_id: uuid.UUID, event_type: str) -> bool:
        """Keep our claim for another ``claim_ttl``; False when it is no longer ours."""
        page = await self.session.execute_async(
            RENEW_CQL,
            (
                self.claim_ttl_seconds,
                self.owner,
                event_type,
                datetime.now(UTC),
                self.group,
                event_id,
                self.owner,
            ),
        )
        return bool(page.was_applied)

    async def finish(self, event_id: uuid.UUID, event_type: str, status: FinalStatus) -> bool:
        """Mark the event finished; False when our claim had expired and another took it."""
        now = datetime.now(UTC)
        page = await self.session.execute_async(
            FINISH_CQL,
            (
                self.dedupe_ttl_seconds,
                status,
                self.owner,
                event_type,
                now,
                self.group,
                event_id,
                self.owner,
            ),
        )
        if page.was_applied:
            return True
        if page.one() is not None and getattr(page.one(), "owner", None) is not None:
            return False
        page = await self.session.execute_async(
            FINISH_UNCLAIMED_CQL,
            (self.group, event_id, status, self.owner, event_type, now, self.dedupe_ttl_seconds),
        )
        return page.was_applied

    async def release(self, event_id: uuid.UUID) -> None:
        """Drop our claim so another consumer need not wait for its TTL."""
        await self.session.execute_async(RELEASE_CQL, (self.group, event_id, self.owner))
