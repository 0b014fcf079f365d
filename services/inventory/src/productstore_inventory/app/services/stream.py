"""The stock-change feed behind the admins' Server-Sent Events stream.

Every replica reads the whole inventory topic itself (a Kafka consumer without a
group, from the end at start), so each replica's streams see every replica's
changes. StockChanged, LowStock and BackInStock go to each open stream's bounded
queue; a stream whose queue is full is dropped (its client reconnects), never
buffered without bound. An event's SSE id is the topic's position after it (every
partition's next offset): positions are the same on every replica, so a client
resumes with `Last-Event-ID` from the recent events any replica keeps, or is told
to `reset` (re-read stock) when they no longer reach back that far.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from dataclasses import dataclass, field
from typing import Final

from prometheus_client import Counter, Gauge

from productstore_common.events import EventDecodeError, EventRegistry
from productstore_common.events.background import BackgroundLoop
from productstore_common.events.backoff import sleep_unless
from productstore_common.telemetry.metrics import AppMetrics
from productstore_contracts.events.inventory import BackInStock, LowStock, StockChanged
from productstore_inventory.app.data.stock_topic import TopicRecord, TopicTail

_logger = logging.getLogger(__name__)

STREAMED: Final = (StockChanged, LowStock, BackInStock)
_MAX_PARTITIONS: Final = 1024


class StreamsFullError(Exception):
    """This replica has as many streams open as it allows."""


class BadCursorError(ValueError):
    """A Last-Event-ID that is not one of ours."""


def encode_cursor(positions: dict[int, int]) -> str:
    return ",".join(f"{partition}:{offset}" for partition, offset in sorted(positions.items()))


def decode_cursor(text: str) -> dict[int, int]:
    positions: dict[int, int] = {}
    try:
        for part in text.split(","):
            partition, offset = part.split(":")
            positions[int(partition)] = int(offset)
    except ValueError:
        raise BadCursorError(f"{text[:80]!r} is not a stream position") from None
    if len(positions) > _MAX_PARTITIONS or any(p < 0 or o < 0 for p, o in positions.items()):
        raise BadCursorError(f"{text[:80]!r} is not a stream position")
    return positions


@dataclass(frozen=True)
class FeedItem:
    partition: int
    offset: int
    # The SSE id: every partition's next offset once this event is read.
    cursor: str
    # StockChanged, LowStock or BackInStock: the SSE event name.
    event_type: str
    # The CloudEvent as one line of JSON.
    data: str


@dataclass(eq=False)  # compared (and hashed) by identity: one per stream
class Subscription:
    queue: asyncio.Queue[FeedItem]
    # Events before these offsets were replayed or are older than the client's cursor.
    start: dict[int, int] = field(default_factory=dict)
    # Set when the client fell more than the queue behind: the stream must end.
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when the feed closes (the app stops).
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    # Whether the client's Last-Event-ID reached back further than this replica keeps.
    gap: bool = False

    def offer(self, item: FeedItem) -> bool:
        """Queue `item` unless it is before the client's position; False: queue full."""
        if item.offset < self.start.get(item.partition, 0):
            return True
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            return False
        return True


@dataclass(frozen=True)
class StreamMetrics:
    open_streams: Gauge
    dropped: Counter
    events: Counter

    @classmethod
    def of(cls, metrics: AppMetrics) -> StreamMetrics:
        return cls(
            open_streams=metrics.gauge(
                "inventory_streams_open", "Server-Sent Events streams open on this replica."
            ),
            dropped=metrics.counter(
                "inventory_streams_dropped_total",
                "Streams ended because their client fell a whole queue behind.",
            ),
            events=metrics.counter(
                "inventory_stream_events_total",
                "Stock events read from the topic for the streams, by type.",
                ("type",),
            ),
        )


class StockFeed(BackgroundLoop):
    """The replica's tail of the inventory topic, fanned out to its open streams."""

    def __init__(
        self,
        *,
        bootstrap_servers: str | list[str],
        topic: str,
        registry: EventRegistry,
        metrics: StreamMetrics,
        max_streams: int,
        queue_size: int,
        replay_size: int,
    ) -> None:
        super().__init__(task_name="inventory-stock-feed", stop_timeout=10.0)
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.registry = registry
        self.metrics = metrics
        self.max_streams = max_streams
        self.queue_size = queue_size
        self._recent: collections.deque[FeedItem] = collections.deque()
        self._replay_size = replay_size
        # Per partition: the recent events are complete from this offset on.
        self._floor: dict[int, int] = {}
        self._positions: dict[int, int] = {}
        self._subscriptions: set[Subscription] = set()
        self.ready = asyncio.Event()

    # --- streams ------------------------------------------------------------------

    @property
    def open_streams(self) -> int:
        return len(self._subscriptions)

    @property
    def recent(self) -> tuple[FeedItem, ...]:
        """The events kept for resuming clients, oldest first."""
        return tuple(self._recent)

    def cursor(self) -> str:
        return encode_cursor(self._positions)

    def subscribe(self, last_event_id: str | None) -> Subscription:
        """A new stream's subscription, with the recent events after `last_event_id`
        already queued (synchronously: nothing is published in between)."""
        if len(self._subscriptions) >= self.max_streams:
            raise StreamsFullError(f"{self.max_streams} streams are open on this replica")
        subscription = Subscription(asyncio.Queue(self.queue_size))
        if last_event_id is not None:
            wanted = decode_cursor(last_event_id)
            subscription.start = dict(wanted)
            subscription.gap = any(
                wanted.get(partition, 0) < floor for partition, floor in self._floor.items()
            )
            for item in self._recent:
                if item.offset < subscription.start.get(item.partition, 0):
                    continue
                if not subscription.offer(item):
                    subscription.gap = True  # more to replay than the queue holds
                    subscription.queue = asyncio.Queue(self.queue_size)
                    break
                subscription.start[item.partition] = item.offset + 1
        self._subscriptions.add(subscription)
        self.metrics.open_streams.set(len(self._subscriptions))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        self.metrics.open_streams.set(len(self._subscriptions))

    def publish(self, item: FeedItem) -> None:
        """Keep `item` for resuming clients and queue it on every stream; a stream
        whose client is a whole queue behind is dropped."""
        if self._replay_size:
            self._recent.append(item)
            while len(self._recent) > self._replay_size:
                evicted = self._recent.popleft()
                self._floor[evicted.partition] = evicted.offset + 1
        else:
            self._floor[item.partition] = item.offset + 1
        for subscription in list(self._subscriptions):
            if not subscription.offer(item):
                self.metrics.dropped.inc()
                subscription.dropped.set()
                self.unsubscribe(subscription)

    def close_all(self) -> None:
        for subscription in list(self._subscriptions):
            subscription.closed.set()
            self.unsubscribe(subscription)

    # --- the topic's tail -----------------------------------------------------------

    def _item(self, record: TopicRecord) -> FeedItem | None:
        self._positions[record.partition] = record.offset + 1
        try:
            event = self.registry.decode(record.value)
        except EventDecodeError:
            _logger.warning("undecodable record at %s:%s", record.partition, record.offset)
            return None
        if not isinstance(event.data, STREAMED):
            return None
        # The SSE event name is the payload's (StockChanged), not the CloudEvents type.
        name = type(event.data).__name__
        self.metrics.events.labels(name).inc()
        data = json.dumps(json.loads(record.value or b"null"), separators=(",", ":"))
        return FeedItem(record.partition, record.offset, self.cursor(), name, data)

    async def run(self) -> None:
        while not self._stop.is_set():
            tail = TopicTail(self.bootstrap_servers, self.topic)
            try:
                # After an error: carry on where the feed was.
                starts = await tail.open(dict(self._positions))
                for partition, offset in starts.items():
                    if partition not in self._positions:
                        self._positions[partition] = offset
                        self._floor[partition] = offset
                self.ready.set()
                while not self._stop.is_set():
                    for record in await tail.read():
                        item = self._item(record)
                        if item is not None:
                            self.publish(item)
            except Exception:
                _logger.warning("stock feed failed; reconnecting", exc_info=True)
                await sleep_unless(self._stop, 1.0)
            finally:
                await tail.close()

    async def stop(self) -> None:
        self.close_all()
        await super().stop()
