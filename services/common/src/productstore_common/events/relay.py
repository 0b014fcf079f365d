"""The outbox relay: publishes pending outbox rows to Kafka, then deletes them.

Every service replica runs one (``async with OutboxRelay(...)`` in its
lifespan); shard leases make each shard's publisher unique. A pass, per held
shard, reads the buckets from the shard's cursor up to now, oldest first, and
for each page publishes every aggregate's events in order: the next event of
an aggregate is sent only after the broker acked the previous one, and a row
is deleted only after its ack. The first failure stops the shard's pass, so
nothing of a later bucket overtakes an event still pending; the next pass
(after a jittered, bounded backoff) starts again from the first pending row.
A crash between ack and delete re-publishes: consumers drop copies by id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cassandra.util import min_uuid_from_time
from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from productstore_common.cassandra import CassandraSession
from productstore_common.events.background import BackgroundLoop
from productstore_common.events.backoff import Backoff, sleep_unless
from productstore_common.events.leases import ShardLeases
from productstore_common.events.metrics import RelayMetrics
from productstore_common.events.outbox import Outbox, OutboxLayout, OutboxRow, unix_seconds
from productstore_common.events.publisher import OutboxPublisher

log = logging.getLogger(__name__)

_SELECT = (
    "SELECT outbox_time, event_id, event_type, topic, event_key, envelope, trace_context "
    "FROM event_outbox WHERE shard = ? AND bucket = ?"
)
PAGE_CQL = _SELECT + " LIMIT ?"
PAGE_AFTER_CQL = _SELECT + " AND outbox_time > ? LIMIT ?"
DELETE_CQL = "DELETE FROM event_outbox WHERE shard = ? AND bucket = ? AND outbox_time = ?"
CURSOR_CQL = "SELECT bucket FROM event_outbox_cursor WHERE shard = ?"
SET_CURSOR_CQL = "INSERT INTO event_outbox_cursor (shard, bucket, updated_at) VALUES (?, ?, ?)"


@dataclass(frozen=True)
class RelayConfig:
    poll_interval: float = 1.0  # between passes when idle (local writes wake it at once)
    page_size: int = 200
    publish_timeout: float = 15.0  # per event, send to ack
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    lease_ttl_seconds: int = 30
    # A bucket still takes rows this long after it ends (writer clocks, slow
    # batches); later arrivals are found by the sweep.
    settle_seconds: float = 30.0
    # Every sweep_interval a pass re-reads the buckets of the last
    # sweep_window_seconds behind the cursors (batchlog replays after a
    # coordinator crash land late); also how far back a first start looks.
    sweep_interval: float = 300.0
    sweep_window_seconds: float = 3600.0
    stop_timeout: float = 10.0
    # Clock difference allowed between writers and the relay where event order is
    # at stake (see _PassReads); fresh rows wait at most about this long.
    order_guard_seconds: float = 0.5


class _PassReads:
    """When a shard's pass made its first read: what later reads may publish.

    An aggregate's next write is stamped only after its previous write was
    acknowledged, but a row becomes visible only when its write is. So a read
    can miss a row (its write still under way) whose successor a later read of
    the same pass already sees: a later bucket, or the next page of a bucket.
    Publishing that successor would overtake its predecessor. A row stamped
    before the pass's first read (less `order_guard_seconds` for writer clocks)
    is safe: its predecessors were acknowledged before that read, so every
    read of the pass sees them, in order. The first read publishes all it
    reads; a later read publishes its rows stamped before that bound and ends
    the shard's pass at the first one that is not (the next pass, whose first
    read may take it, comes soon).

    A pass over several buckets therefore makes its first read of the newest one
    (its head page) and publishes that page after the older buckets: every row the
    read shows had its predecessors acknowledged before it, so the later reads of
    the older buckets see them. Read oldest first, the first read would be of an
    older bucket, mostly empty (the cursor stays a bucket behind for
    `settle_seconds` after each bucket ends), and every fresh row would wait out
    the guard and the next pass.
    """

    def __init__(self, guard_seconds: float) -> None:
        self._guard = guard_seconds
        self._bound: float | None = None

    def started_read(self) -> float | None:
        """Call just before a read: the newest stamp it may publish (None: any)."""
        if self._bound is None:
            self._bound = time.time() - self._guard
            return None
        return self._bound


@dataclass(frozen=True)
class _Head:
    """A bucket's first page, read before the pass's other reads."""

    bucket: int
    after: uuid.UUID | None
    rows: list[OutboxRow]


class PassFailedError(Exception):
    """A shard's pass stopped at an event it could not publish (or lost its lease)."""

    def __init__(self, message: str, *, pending: int = 0, oldest: float | None = None) -> None:
        super().__init__(message)
        self.pending = pending
        self.oldest = oldest


def _default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class OutboxRelay(BackgroundLoop):
    def __init__(
        self,
        session: CassandraSession,
        *,
        bootstrap_servers: str | Sequence[str],
        layout: OutboxLayout | None = None,
        config: RelayConfig | None = None,
        metrics: RelayMetrics | None = None,
        tracer_provider: TracerProvider | None = None,
        outbox: Outbox | None = None,
        owner: str | None = None,
    ) -> None:
        self.session = session
        self.bootstrap_servers = bootstrap_servers
        self.layout = layout or (outbox.layout if outbox else OutboxLayout())
        self.config = config or RelayConfig()
        self.metrics = metrics or RelayMetrics()
        self.owner = owner or _default_owner()
        self._publisher = OutboxPublisher(
            bootstrap_servers,
            client_id=f"outbox-relay-{self.owner}",
            tracer=trace.get_tracer(__name__, tracer_provider=tracer_provider),
            publish_timeout=self.config.publish_timeout,
            # Half the stop budget: a stop must not be spent flushing to a dead broker.
            close_timeout=self.config.stop_timeout / 2,
        )
        self._leases = ShardLeases(
            session,
            shards=self.layout.shards,
            owner=self.owner,
            ttl_seconds=self.config.lease_ttl_seconds,
        )
        self._backoff = Backoff(self.config.backoff_initial, self.config.backoff_max)
        super().__init__(task_name="outbox-relay", stop_timeout=self.config.stop_timeout)
        self._wake = asyncio.Event()
        self._cursors: dict[int, int] = {}
        # (shard, bucket) -> outbox time up to which every row was published
        self._marks: dict[tuple[int, int], uuid.UUID] = {}
        self._next_sweep = 0.0
        self._fresh_left = False  # the last pass stopped at rows too fresh for it
        if outbox is not None:
            outbox.add_listener(self._wake.set)

    # --- the loop ----------------------------------------------------------------

    def wake(self) -> None:
        """Start the next pass now (after a local write)."""
        self._wake.set()

    async def run(self) -> None:
        """Publish until ``stop()``; errors never end it, they back off and retry."""
        leases = asyncio.create_task(self._keep_leases(), name="outbox-relay-leases")
        try:
            while not self._stop.is_set():
                ok = await self._pass_guarded()
                if ok:
                    self._backoff.reset()
                    # Rows left for being too fresh are due once the guard has passed.
                    await self._idle(
                        self.config.order_guard_seconds
                        if self._fresh_left
                        else self.config.poll_interval
                    )
                elif await sleep_unless(self._stop, self._backoff.next_delay()):
                    break
        finally:
            leases.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await leases
            await self._publisher.close()
            await self._leases.release()
            self.metrics.shards_owned.set(0)

    async def _idle(self, seconds: float) -> None:
        wake = asyncio.create_task(self._wake.wait())
        stop = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({wake, stop}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            wake.cancel()
            stop.cancel()
        self._wake.clear()

    async def _keep_leases(self) -> None:
        backoff = Backoff(0.5, self.config.lease_ttl_seconds / 3)
        while not self._stop.is_set():
            try:
                before = set(self._leases.held())
                held = await self._leases.refresh()
                backoff.reset()
                self.metrics.shards_owned.set(len(held))
                if gained := set(held) - before:
                    # Another relay may have moved these cursors while it held them.
                    for shard in gained:
                        self._cursors.pop(shard, None)
                    self._marks = {k: v for k, v in self._marks.items() if k[0] not in gained}
                    self._wake.set()
                delay = self.config.lease_ttl_seconds / 3
            except Exception:
                log.warning("outbox lease refresh failed", exc_info=True)
                delay = backoff.next_delay()
            if await sleep_unless(self._stop, delay):
                return

    # --- passes -----------------------------------------------------------------------

    async def _pass_guarded(self) -> bool:
        shards = self._leases.held()
        if not shards:
            return True
        try:
            await self._publisher.start()
        except Exception as exc:
            self.metrics.publish_errors.labels(error=type(exc).__name__).inc()
            log.warning("outbox relay cannot reach Kafka: %s", exc)
            return False
        sweep = time.monotonic() >= self._next_sweep
        results = await asyncio.gather(
            *(self._shard_pass(shard, sweep=sweep) for shard in shards),
            return_exceptions=True,
        )
        self._fresh_left = any(result is False for result in results)
        pending, oldest, failures = 0, None, []
        for result in results:
            if isinstance(result, PassFailedError):
                pending += result.pending
                if result.oldest is not None:
                    oldest = result.oldest if oldest is None else min(oldest, result.oldest)
            if isinstance(result, BaseException):
                failures.append(result)
        self.metrics.pending.set(pending)
        self.metrics.oldest_pending_age.set(0 if oldest is None else max(0, time.time() - oldest))
        self._publisher.forget_settled(max(60.0, 4 * self.config.publish_timeout))
        if failures:
            for failure in failures:
                # Publish failures were counted per event; these are reads, cursors, ...
                if not isinstance(failure, PassFailedError):
                    self.metrics.publish_errors.labels(error=type(failure).__name__).inc()
            log.warning(
                "outbox relay pass incomplete on %d shard(s): %s", len(failures), failures[0]
            )
            return False
        if sweep:
            self._next_sweep = time.monotonic() + self.config.sweep_interval
        return True

    async def _cursor(self, shard: int) -> int:
        cursor = self._cursors.get(shard)
        if cursor is None:
            row = (await self.session.execute_async(CURSOR_CQL, (shard,))).one()
            if row is not None and row.bucket is not None:
                cursor = int(row.bucket)
            else:
                cursor = self.layout.bucket_of(time.time() - self.config.sweep_window_seconds)
            self._cursors[shard] = cursor
        return cursor

    async def _shard_pass(self, shard: int, *, sweep: bool) -> bool:
        """One pass over a shard; False when it stopped at rows too fresh for it."""
        cursor = await self._cursor(shard)
        now = time.time()
        current = self.layout.bucket_of(now)
        first = cursor
        if sweep:
            first = min(cursor, self.layout.bucket_of(now - self.config.sweep_window_seconds))
        advanced = cursor
        reads = _PassReads(self.config.order_guard_seconds)
        buckets = range(first, max(current, cursor) + 1)
        head: _Head | None = None
        if len(buckets) > 1:
            # The newest bucket's first page is the pass's first read (see _PassReads).
            newest = buckets[-1]
            reads.started_read()
            after = self._after(shard, newest, use_mark=True)
            head = _Head(newest, after, await self._page(shard, newest, after))
        complete = True
        for bucket in buckets:
            if not self._leases.holds(shard):
                raise PassFailedError(f"lease of shard {shard} lapsed")
            # Behind the cursor only sweeps look, and they read whole buckets.
            if not await self._drain(
                shard,
                bucket,
                use_mark=bucket >= cursor,
                reads=reads,
                head=head if head is not None and head.bucket == bucket else None,
            ):
                complete = False
                break  # rows too fresh for this pass (_PassReads); the next pass takes them
            if (
                bucket == advanced
                and self.layout.bucket_end(bucket) + self.config.settle_seconds < now
            ):
                advanced = bucket + 1
        if advanced != cursor:
            await self.session.execute_async(SET_CURSOR_CQL, (shard, advanced, datetime.now(UTC)))
            self._cursors[shard] = advanced
            for key in [key for key in self._marks if key[0] == shard and key[1] < advanced]:
                del self._marks[key]
        return complete

    def _after(self, shard: int, bucket: int, *, use_mark: bool) -> uuid.UUID | None:
        """Where a bucket's reads start: after its mark, if it has one."""
        mark = self._marks.get((shard, bucket)) if use_mark else None
        if mark is None:
            return None
        # Rows may land a little behind the mark (writer clock skew): look back.
        after: uuid.UUID = min_uuid_from_time(unix_seconds(mark) - self.config.settle_seconds)
        return after

    async def _page(self, shard: int, bucket: int, after: uuid.UUID | None) -> list[OutboxRow]:
        size = self.config.page_size
        if after is None:
            page = await self.session.execute_async(PAGE_CQL, (shard, bucket, size))
        else:
            page = await self.session.execute_async(PAGE_AFTER_CQL, (shard, bucket, after, size))
        return [OutboxRow(shard, bucket, *row) for row in page.rows]

    async def _drain(
        self,
        shard: int,
        bucket: int,
        *,
        use_mark: bool,
        reads: _PassReads,
        head: _Head | None = None,
    ) -> bool:
        """Publish the bucket's rows page by page; PassFailedError at the first failure.
        False when it stopped at a row too fresh for this pass (see _PassReads). `head`:
        the bucket's first page, read as the pass's first read."""
        after = head.after if head is not None else self._after(shard, bucket, use_mark=use_mark)
        size = self.config.page_size
        while True:
            if head is not None:
                bound, rows, head = None, head.rows, None
            else:
                bound = reads.started_read()
                rows = await self._page(shard, bucket, after)
            read = len(rows)
            if bound is not None:
                rows = [row for row in rows if unix_seconds(row.outbox_time) < bound]
            if not rows:
                return read == 0
            published = await self._publish_page(rows)
            prefix = 0
            while prefix < len(rows) and rows[prefix].outbox_time in published:
                prefix += 1
            if prefix:
                self._marks[(shard, bucket)] = rows[prefix - 1].outbox_time
            if prefix < len(rows):
                unpublished = [row for row in rows if row.outbox_time not in published]
                raise PassFailedError(
                    f"shard {shard} bucket {bucket}: {len(unpublished)} event(s) not published",
                    pending=len(unpublished),
                    oldest=unix_seconds(unpublished[0].outbox_time),
                )
            if len(rows) < read:
                return False
            if read < size:
                return True
            after = rows[-1].outbox_time

    async def _publish_page(self, rows: list[OutboxRow]) -> set[uuid.UUID]:
        """Publish and delete rows; one aggregate's rows strictly one after another."""
        by_key: dict[str, list[OutboxRow]] = {}
        for row in rows:
            by_key.setdefault(row.key, []).append(row)
        published: set[uuid.UUID] = set()

        async def chain(aggregate_rows: list[OutboxRow]) -> None:
            for row in aggregate_rows:
                try:
                    await self._publisher.publish(row)
                    self.metrics.published.labels(topic=row.topic).inc()
                    self.metrics.lag.observe(max(0.0, time.time() - unix_seconds(row.outbox_time)))
                    # Not deleted = published again later; consumers drop the copy.
                    await self.session.execute_async(
                        DELETE_CQL, (row.shard, row.bucket, row.outbox_time)
                    )
                except Exception as exc:
                    self.metrics.publish_errors.labels(error=type(exc).__name__).inc()
                    log.warning(
                        "outbox event %s (%s) not published: %s",
                        row.event_id,
                        row.event_type,
                        str(exc) or type(exc).__name__,
                    )
                    return  # the aggregate's later events wait for this one
                published.add(row.outbox_time)

        await asyncio.gather(*(chain(aggregate) for aggregate in by_key.values()))
        return published
