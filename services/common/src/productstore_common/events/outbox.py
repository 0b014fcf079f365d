"""Transactional outbox in Cassandra: the event row rides in the business write's LOGGED BATCH.

Cassandra has no multi-table transactions, but a logged batch is atomic in the
eventual sense: the coordinator first writes the whole batch to the batchlog
(on other replicas), and if it dies half-way the batchlog replays it, so either
every statement of the batch is applied or none is. Putting the event's outbox
row in the same batch as the rows it describes means no event is ever lost
(the relay publishes it later, whatever happens to Kafka or the process) and
none is published for a write that did not happen.

    outbox = await Outbox.create(db, topic="productstore.catalog")
    update = db.prepare("UPDATE products SET price = ? WHERE id = ?").bind((price, pid))
    event = new_event(PriceChanged(...), source="/productstore/catalog", subject=str(pid))
    await outbox.write([update], [event])

Rows are partitioned by ``(shard, bucket)``: the shard is a stable hash of the
aggregate id (so one aggregate's events are read, and published, in order by
one relay) and the bucket is the outbox time divided into ``bucket_seconds``
slices, so the relay scans a few small partitions instead of one ever-growing
queue full of tombstones.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, NamedTuple

from cassandra.query import BatchStatement, BatchType, BoundStatement, PreparedStatement, Statement

from productstore_common.cassandra import CassandraSession
from productstore_common.events.envelope import MAX_ENVELOPE_BYTES, CloudEvent
from productstore_common.telemetry.tracing import inject_context

TABLES_FILE = "event_tables.cql"

INSERT_CQL = (
    "INSERT INTO event_outbox (shard, bucket, outbox_time, event_id, event_type, topic, "
    "event_key, envelope, trace_context) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
_UUID_EPOCH_OFFSET = 0x01B21DD213814000


def event_tables_cql() -> str:
    """The CQL creating the outbox, cursor, lease and dedupe tables (a migration's text)."""
    return resources.files(__package__).joinpath(TABLES_FILE).read_text(encoding="utf-8")


class OutboxRow(NamedTuple):
    """A pending event as the relay reads it."""

    shard: int
    bucket: int
    outbox_time: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    topic: str
    key: str
    envelope: str
    trace_context: dict[str, str] | None  # null when the write had no trace


class EventTooLargeError(ValueError):
    """An event's envelope exceeds MAX_ENVELOPE_BYTES."""


@dataclass(frozen=True)
class OutboxLayout:
    """How rows are spread; writers and the relay of one keyspace must agree.

    ``shards`` may grow (the relay reads every shard below it) but never shrink
    while rows are pending in the shards removed.
    """

    shards: int = 8
    bucket_seconds: int = 60

    def __post_init__(self) -> None:
        if not 1 <= self.shards <= 1024:
            raise ValueError(f"outbox shards must be 1..1024, got {self.shards}")
        if not 1 <= self.bucket_seconds <= 3600:
            raise ValueError(f"outbox bucket_seconds must be 1..3600, got {self.bucket_seconds}")

    def shard_of(self, key: str) -> int:
        # crc32, not hash(): str hashes differ between processes.
        return zlib.crc32(key.encode("utf-8")) % self.shards

    def bucket_of(self, unix_seconds: float) -> int:
        return int(unix_seconds // self.bucket_seconds)

    def bucket_end(self, bucket: int) -> float:
        return float((bucket + 1) * self.bucket_seconds)


class TimeUuids:
    """Version-1 UUIDs with strictly increasing timestamps within this process.

    Two events written by one call (or one request) must keep their order;
    ``uuid1()`` alone can repeat a timestamp and then sorts by random bits.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0
        # Random node with the multicast bit set (RFC 4122 §4.5), random clock sequence.
        self._node = int.from_bytes(os.urandom(6), "big") | (1 << 40)
        self._clock_seq = int.from_bytes(os.urandom(2), "big") & 0x3FFF

    def next(self) -> uuid.UUID:
        with self._lock:
            ticks = max(time.time_ns() // 100 + _UUID_EPOCH_OFFSET, self._last + 1)
            self._last = ticks
        return uuid.UUID(
            fields=(
                ticks & 0xFFFFFFFF,
                (ticks >> 32) & 0xFFFF,
                ((ticks >> 48) & 0x0FFF) | 0x1000,
                ((self._clock_seq >> 8) & 0x3F) | 0x80,
                self._clock_seq & 0xFF,
                self._node,
            )
        )


def unix_seconds(time_uuid: uuid.UUID) -> float:
    """The Unix time of a version-1 UUID."""
    return (time_uuid.time - _UUID_EPOCH_OFFSET) / 1e7


_time_uuids = TimeUuids()

Listener = Callable[[], None]


class Outbox:
    """Writes events with the rows they describe; ``OutboxRelay`` publishes them."""

    def __init__(
        self,
        session: CassandraSession,
        insert: PreparedStatement,
        *,
        topic: str,
        layout: OutboxLayout,
    ) -> None:
        if not topic:
            raise ValueError("an outbox needs a default topic")
        self.session = session
        self.topic = topic
        self.layout = layout
        self._insert = insert
        self._listeners: list[Listener] = []

    @classmethod
    async def create(
        cls,
        session: CassandraSession,
        *,
        topic: str,
        layout: OutboxLayout | None = None,
    ) -> Outbox:
        """Prepare the insert once (at start-up), so building statements never does I/O."""
        insert = await session.prepare_async(INSERT_CQL)
        return cls(session, insert, topic=topic, layout=layout or OutboxLayout())

    def statements(
        self, event: CloudEvent[Any], *, topic: str | None = None
    ) -> list[BoundStatement]:
        """The statements recording ``event``; add them to the batch of the business write.

        The current trace context is stored with the event, so the relay's
        publish span (and the consumer's) joins the trace of the write.
        """
        envelope = event.to_json()
        if len(envelope) > MAX_ENVELOPE_BYTES:
            raise EventTooLargeError(
                f"event {event.type} {event.id} is {len(envelope)} bytes as JSON, over the "
                f"{MAX_ENVELOPE_BYTES} byte limit; carry ids and changed fields, not documents"
            )
        trace_context: dict[str, str] = {}
        inject_context(trace_context)
        outbox_time = _time_uuids.next()
        return [
            self._insert.bind(
                (
                    self.layout.shard_of(event.subject),
                    self.layout.bucket_of(unix_seconds(outbox_time)),
                    outbox_time,
                    event.id,
                    event.type,
                    topic or self.topic,
                    event.subject,
                    envelope.decode("utf-8"),
                    trace_context,
                )
            )
        ]

    def batch(
        self,
        statements: Sequence[Statement],
        events: Sequence[CloudEvent[Any]],
        *,
        topic: str | None = None,
    ) -> BatchStatement:
        """One LOGGED batch of ``statements`` and the outbox rows of ``events``."""
        if not statements and not events:
            raise ValueError("nothing to write: give statements, events or both")
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        for statement in statements:
            batch.add(statement)
        for event in events:
            for statement in self.statements(event, topic=topic):
                batch.add(statement)
        return batch

    async def write(
        self,
        statements: Sequence[Statement],
        events: Sequence[CloudEvent[Any]],
        *,
        topic: str | None = None,
        timeout: float | None = None,
    ) -> None:
        """Apply ``statements`` and record ``events`` atomically (one logged batch).

        A WriteTimeout means the outcome is unknown; running the same call again
        is safe when the statements are idempotent (no counters, no list appends):
        each event is then published at most twice and consumers drop the copy.
        """
        batch = self.batch(statements, events, topic=topic)
        await self.session.execute_async(batch, timeout=timeout)
        if events:
            for listener in self._listeners:
                listener()

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` after each write with events (a local relay wakes up early)."""
        self._listeners.append(listener)
