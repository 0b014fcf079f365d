"""Shard leases: each outbox shard is published by one relay at a time.

Every service replica runs a relay; two relays publishing one shard would
interleave (and reorder) its aggregates' events. A lease is an LWT row
(``INSERT ... IF NOT EXISTS USING TTL``) renewed by its owner every TTL/3
(``UPDATE ... IF owner = ?``), so a crashed replica's shards free themselves
after one TTL. The owner stops using a shard once two thirds of the TTL have
passed since its last successful renewal: before the row can expire on the
server and another relay can take it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from productstore_common.cassandra import CassandraSession

log = logging.getLogger(__name__)

ACQUIRE_CQL = (
    "INSERT INTO event_outbox_lease (shard, owner, acquired_at) VALUES (?, ?, ?) "
    "IF NOT EXISTS USING TTL ?"
)
RENEW_CQL = "UPDATE event_outbox_lease USING TTL ? SET owner = ? WHERE shard = ? IF owner = ?"
RELEASE_CQL = "DELETE FROM event_outbox_lease WHERE shard = ? IF owner = ?"

MIN_TTL_SECONDS = 3


class ShardLeases:
    def __init__(
        self,
        session: CassandraSession,
        *,
        shards: int,
        owner: str,
        ttl_seconds: int = 30,
    ) -> None:
        if ttl_seconds < MIN_TTL_SECONDS:
            raise ValueError(f"lease TTL must be at least {MIN_TTL_SECONDS}s, got {ttl_seconds}")
        self.session = session
        self.shards = shards
        self.owner = owner
        self.ttl_seconds = ttl_seconds
        # shard -> monotonic time until which we may use it
        self._valid_until: dict[int, float] = {}
        self._next_refresh = 0.0

    def held(self) -> list[int]:
        now = time.monotonic()
        return sorted(shard for shard, until in self._valid_until.items() if until > now)

    def holds(self, shard: int) -> bool:
        return self._valid_until.get(shard, 0.0) > time.monotonic()

    def refresh_due(self) -> bool:
        return time.monotonic() >= self._next_refresh

    async def refresh(self) -> list[int]:
        """Renew held leases and try to take free ones; returns the shards held."""
        started = time.monotonic()
        results = await asyncio.gather(
            *(self._refresh_one(shard, started) for shard in range(self.shards)),
            return_exceptions=True,
        )
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            # Shards whose round failed keep their old deadline: a Cassandra
            # blip must not drop every lease at once.
            log.warning(
                "outbox lease refresh failed for %d shard(s): %s", len(failures), failures[0]
            )
        self._next_refresh = started + self.ttl_seconds / 3
        return self.held()

    async def _refresh_one(self, shard: int, started: float) -> None:
        if shard in self._valid_until:
            page = await self.session.execute_async(
                RENEW_CQL, (self.ttl_seconds, self.owner, shard, self.owner)
            )
        else:
            page = await self.session.execute_async(
                ACQUIRE_CQL, (shard, self.owner, datetime.now(UTC), self.ttl_seconds)
            )
        if page.was_applied:
            if shard not in self._valid_until:
                log.info("took outbox shard %d", shard, extra={"owner": self.owner})
            self._valid_until[shard] = started + self.ttl_seconds * 2 / 3
        elif self._valid_until.pop(shard, None) is not None:
            log.warning("lost outbox shard %d to another relay", shard)

    async def release(self) -> None:
        """Give every held shard back at once (a clean shutdown; others take over now)."""
        shards = list(self._valid_until)
        self._valid_until.clear()
        results = await asyncio.gather(
            *(self.session.execute_async(RELEASE_CQL, (shard, self.owner)) for shard in shards),
            return_exceptions=True,
        )
        errors = [result for result in results if isinstance(result, BaseException)]
        if errors:
            log.warning("could not release %d outbox lease(s): %s", len(errors), errors[0])
