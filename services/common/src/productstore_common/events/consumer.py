"""An idempotent Kafka consumer: typed events, dedupe by event id, retries, a dead-letter topic.

    consumer = IdempotentConsumer(
        db, bootstrap_servers=settings.kafka_bootstrap_servers, group_id="wishlist",
        topics=["productstore.catalog"], registry=EventRegistry([PriceChanged]),
        handler=on_event,
    )
    async with consumer:        # in the lifespan; runs until the app stops
        ...

Records of a partition are handled in order, and the offsets are committed only
after they were handled (manual commits), so a crash or a rebalance redelivers
rather than loses. By default one record at a time; with
``ConsumerConfig(key_concurrency=N)`` records of different keys (different
orders, say) are handled up to N at a time while each key's records keep their
order, across the partitions of a poll too, for handlers that are safe across
keys (each partition's committed offset is the end of its longest handled prefix,
so a stop mid-batch redelivers the rest).
Redelivered events are recognised by their id in ``processed_events`` (see
``dedupe``) and not handled again, unless the handler is idempotent by itself
(``ConsumerConfig(dedupe=False)``). Events of types the handler does not act on
(``handles``) are committed without a claim.

What cannot be handled goes to ``<topic>.dlq`` (same key and value, the
original headers plus ``dlq_reason``, ``dlq_error``, ``dlq_topic``,
``dlq_partition``, ``dlq_offset``, ``dlq_consumer_group``, ``dlq_attempts``)
and the loop moves on: records that are not events of a known type
(``EventDecodeError``) at once, handlers that raise ``PoisonEventError`` at
once, other handler errors after ``max_attempts`` tries with backoff. Kafka or
Cassandra being down is not the event's fault: those operations are retried
until they succeed or the consumer stops, and nothing is committed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.errors import IllegalStateError  # type: ignore[import-untyped]
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, TracerProvider

from productstore_common.cassandra import CassandraSession
from productstore_common.events.background import BackgroundLoop
from productstore_common.events.backoff import Backoff, sleep_unless
from productstore_common.events.dedupe import ProcessedEvents
from productstore_common.events.envelope import (
    CloudEvent,
    EventDecodeError,
    EventRegistry,
)
from productstore_common.events.kafka import bootstrap, dead_letter_topic, idempotent_producer
from productstore_common.events.metrics import ConsumerMetrics
from productstore_common.telemetry.tracing import context_from_kafka_headers
from productstore_contracts.events import EventPayload

log = logging.getLogger(__name__)

Handler = Callable[[CloudEvent[EventPayload]], Awaitable[None]]
T = TypeVar("T")

MAX_ERROR_HEADER_CHARS = 1000


class PoisonEventError(Exception):
    """Raised by a handler for an event that no retry can fix: dead-letter it now."""


class _StoppedError(Exception):
    """The consumer was asked to stop while waiting: leave the record uncommitted."""


@dataclass(frozen=True)
class ConsumerConfig:
    max_attempts: int = 5  # handler tries before dead-lettering
    retry_initial: float = 0.2
    retry_max: float = 5.0
    handler_timeout: float = 30.0
    # How long a claim outlives its consumer: a live one renews it every third of
    # this while it handles the event, so it is how long an event waits after its
    # consumer was killed mid-handler (SIGKILL, OOM) before another handles it.
    claim_ttl_seconds: int = 30
    # Longer than Kafka's retention (7 days by default): no redelivery outlives it.
    dedupe_ttl_seconds: int = 8 * 24 * 3600
    max_records: int = 50  # per poll
    poll_timeout: float = 0.5
    backoff_initial: float = 0.2  # Kafka / Cassandra failures
    backoff_max: float = 10.0
    auto_offset_reset: str = "earliest"
    max_poll_interval_ms: int = 600_000
    stop_timeout: float = 10.0
    # False for a handler that is idempotent by itself (e.g. a write that keeps the
    # newest version): redeliveries reach it again, and each event saves the two
    # lightweight transactions of the dedupe store (claim and mark).
    dedupe: bool = True
    # Records of one partition with different keys handled at once (1: one at a
    # time). Only for handlers whose effects on different keys commute or are
    # guarded (compare-and-set): each key's records stay in order, keys do not.
    key_concurrency: int = 1

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.key_concurrency < 1:
            raise ValueError("key_concurrency must be at least 1")
        if self.claim_ttl_seconds < 3:
            # Renewed every third of it: a shorter one would be renewed every second.
            raise ValueError("claim_ttl_seconds must be at least 3")


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class IdempotentConsumer(BackgroundLoop):
    def __init__(
        self,
        session: CassandraSession,
        *,
        bootstrap_servers: str | Sequence[str],
        group_id: str,
        topics: Sequence[str],
        registry: EventRegistry,
        handler: Handler,
        config: ConsumerConfig | None = None,
        metrics: ConsumerMetrics | None = None,
        tracer_provider: TracerProvider | None = None,
        handles: Collection[str] | None = None,
    ) -> None:
        """``handles``: the event types the handler acts on (default: every type of the
        registry). Others are still decoded, so a malformed record is dead-lettered,
        then committed without a claim: a topic's other readers' events cost nothing."""
        if not topics:
            raise ValueError("a consumer needs at least one topic")
        unknown = set(handles or ()) - registry.types
        if unknown:
            raise ValueError(f"handles types the registry does not know: {sorted(unknown)}")
        self.handles = frozenset(handles) if handles is not None else None
        self.bootstrap_servers = bootstrap(bootstrap_servers)
        self.group_id = group_id
        self.topics = list(topics)
        self.registry = registry
        self.handler = handler
        self.config = config or ConsumerConfig()
        self.metrics = metrics or ConsumerMetrics()
        # At 0 from the start: a group that never fell behind still has its series.
        self._lag = self.metrics.lag.labels(group_id)
        self.owner = _owner()
        self._store = ProcessedEvents(
            session,
            group=group_id,
            owner=self.owner,
            claim_ttl_seconds=self.config.claim_ttl_seconds,
            dedupe_ttl_seconds=self.config.dedupe_ttl_seconds,
        )
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
        self._backoff = Backoff(self.config.backoff_initial, self.config.backoff_max)
        super().__init__(
            task_name=f"consumer-{self.group_id}", stop_timeout=self.config.stop_timeout
        )
        self._consumer: Any = None
        self._producer: Any = None

    # --- the loop ----------------------------------------------------------------

    async def run(self) -> None:
        """Consume until ``stop()``; no error ends the loop."""
        try:
            await self._retry(self._connect, "connect to Kafka")
            while not self._stop.is_set():
                try:
                    batches = await self._consumer.getmany(
                        timeout_ms=int(self.config.poll_timeout * 1000),
                        max_records=self.config.max_records,
                    )
                except Exception as exc:
                    self._infrastructure_error(exc, "poll Kafka")
                    await sleep_unless(self._stop, self._backoff.next_delay())
                    continue
                if self.config.key_concurrency > 1:
                    await self._consume_by_key(batches)
                else:
                    for partition, records in batches.items():
                        await self._consume(partition, records)
                await self._record_lag()
        except _StoppedError:
            pass
        finally:
            await self._disconnect()

    async def _connect(self) -> None:
        await self._disconnect()
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.group_id,
            client_id=f"{self.group_id}-{self.owner}",
            enable_auto_commit=False,
            auto_offset_reset=self.config.auto_offset_reset,
            max_poll_interval_ms=self.config.max_poll_interval_ms,
        )
        producer = idempotent_producer(self.bootstrap_servers, client_id=f"{self.group_id}-dlq")
        self._consumer, self._producer = consumer, producer
        await consumer.start()
        await producer.start()

    async def _disconnect(self) -> None:
        for client in (self._consumer, self._producer):
            if client is not None:
                try:
                    await asyncio.wait_for(client.stop(), self.config.stop_timeout)
                except Exception:
                    log.warning("Kafka client did not stop cleanly", exc_info=True)
        self._consumer = self._producer = None

    async def _record_lag(self) -> None:
        """Records behind the ends of the owned partitions: the fetches' high-water
        marks less the positions, both known locally (no request to Kafka)."""
        # The ends first, with no await between: a rebalance cannot interleave.
        ends = {
            partition: end
            for partition in self._consumer.assignment()
            if (end := self._consumer.highwater(partition)) is not None  # None: not fetched yet
        }
        behind = 0
        for partition, end in ends.items():
            try:
                position = await self._consumer.position(partition)
            except IllegalStateError:
                continue  # revoked by a rebalance meanwhile
            behind += max(end - position, 0)
        self._lag.set(behind)

    async def _consume(self, partition: Any, records: list[Any]) -> None:
        handled_to = None
        try:
            for record in records:
                if self._stop.is_set():
                    break
                await self._process(record)
                handled_to = record.offset + 1
        finally:
            if handled_to is not None:
                await self._commit(partition, handled_to)

    async def _consume_by_key(self, batches: dict[Any, list[Any]]) -> None:
        """Each (partition, key)'s records in order, up to ``key_concurrency`` of them
        at once; each partition's commit covers its records handled without a gap."""
        queues: dict[tuple[Any, bytes | None], list[Any]] = {}
        for partition, records in batches.items():
            for record in records:
                queues.setdefault((partition, record.key), []).append(record)
        handled: set[tuple[Any, int]] = set()
        slots = asyncio.Semaphore(self.config.key_concurrency)

        async def one_key(partition: Any, queue: list[Any]) -> None:
            async with slots:
                for record in queue:
                    if self._stop.is_set():
                        return
                    await self._process(record)
                    handled.add((partition, record.offset))

        outcomes = await asyncio.gather(
            *(one_key(partition, queue) for (partition, _), queue in queues.items()),
            return_exceptions=True,
        )
        for partition, records in batches.items():
            handled_to = None
            for record in records:
                if (partition, record.offset) not in handled:
                    break
                handled_to = record.offset + 1
            if handled_to is not None:
                await self._commit(partition, handled_to)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _commit(self, partition: TopicPartition, offset: int) -> None:
        try:
            await self._consumer.commit({partition: offset})
        except Exception as exc:
            # Rebalanced away or Kafka down: the next owner redelivers, dedupe skips.
            self._infrastructure_error(exc, f"commit {partition.topic}[{partition.partition}]")

    # --- one record -------------------------------------------------------------------

    async def _process(self, record: Any) -> None:
        # The producer's send span is the parent (one trace per user action across
        # services) and a link, as the messaging conventions recommend for process spans.
        sent = context_from_kafka_headers(record.headers)
        sent_span = trace.get_current_span(sent).get_span_context()
        with self._tracer.start_as_current_span(
            f"process {record.topic}",
            context=sent,
            kind=SpanKind.CONSUMER,
            links=[Link(sent_span)] if sent_span.is_valid else None,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.operation.name": "process",
                "messaging.destination.name": record.topic,
                "messaging.consumer.group.name": self.group_id,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.kafka.offset": record.offset,
            },
        ) as span:
            if span.is_recording() and (record.timestamp or 0) > 0:
                # Since the producer's send (the record's CreateTime): delivery plus poll.
                age = max(0, int(time.time() * 1000) - record.timestamp)
                span.set_attribute("productstore.kafka.record_age_ms", age)
            try:
                event = self.registry.decode(record.value)
            except EventDecodeError as exc:
                decode_reason, error = exc.reason, str(exc)
                span.set_status(Status(StatusCode.ERROR, decode_reason))
                log.warning(
                    "dead-lettering %s[%d]@%d: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    error,
                )
                await self._retry(
                    lambda: self._dead_letter(record, decode_reason, error, 0), "dead-letter"
                )
                self.metrics.consumed.labels(group=self.group_id, outcome="dead_lettered").inc()
                return
            span.set_attribute("messaging.message.id", str(event.id))
            span.set_attribute("cloudevents.event_type", event.type)
            if self.handles is not None and event.type not in self.handles:
                self.metrics.consumed.labels(group=self.group_id, outcome="skipped").inc()
                return
            dedupe = self.config.dedupe
            if dedupe and not await self._claim(event):
                span.set_attribute("productstore.duplicate", True)
                self.metrics.consumed.labels(group=self.group_id, outcome="duplicate").inc()
                return
            async with self._claim_kept(event, dedupe):
                failure = await self._handle(event)
                if failure is None:
                    if dedupe:
                        await self._retry(
                            lambda: self._store.finish(event.id, event.type, "done"), "mark"
                        )
                    self.metrics.consumed.labels(group=self.group_id, outcome="handled").inc()
                    return
                reason, error, attempts = failure
                span.set_status(Status(StatusCode.ERROR, reason))
                await self._retry(
                    lambda: self._dead_letter(record, reason, error, attempts), "dead-letter"
                )
                if dedupe:
                    await self._retry(
                        lambda: self._store.finish(event.id, event.type, "dead_lettered"), "mark"
                    )
                self.metrics.consumed.labels(group=self.group_id, outcome="dead_lettered").inc()

    @contextlib.asynccontextmanager
    async def _claim_kept(
        self, event: CloudEvent[EventPayload], dedupe: bool
    ) -> AsyncIterator[None]:
        """Renew our claim of `event` every third of its TTL until the block ends, so
        only a dead consumer's claim expires (and soon)."""
        if not dedupe:
            yield
            return
        keeper = asyncio.create_task(self._keep_claim(event), name=f"claim-{event.id}")
        try:
            yield
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _keep_claim(self, event: CloudEvent[EventPayload]) -> None:
        while True:
            await asyncio.sleep(self.config.claim_ttl_seconds / 3)
            try:
                if not await self._store.renew(event.id, event.type):
                    log.warning("lost the claim of event %s while handling it", event.id)
            except Exception as exc:  # the next tick tries again; the TTL leaves room for two
                self._infrastructure_error(exc, "renew a claim")

    async def _claim(self, event: CloudEvent[EventPayload]) -> bool:
        """True to handle the event, False when this group already finished it."""
        waiting = Backoff(self.config.backoff_initial, self.config.backoff_max)
        while True:
            claim = await self._retry(lambda: self._store.claim(event.id, event.type), "claim")
            if claim != "busy":
                return claim == "claimed"
            # Another consumer is handling it (rebalance overlap) or died doing so
            # (its claim expires): wait for its mark or the expiry.
            log.info("event %s is being handled by another consumer; waiting", event.id)
            if await sleep_unless(self._stop, waiting.next_delay()):
                raise _StoppedError

    async def _handle(self, event: CloudEvent[EventPayload]) -> tuple[str, str, int] | None:
        """None when handled; else (reason, error, attempts) for the dead-letter headers."""
        retry = Backoff(self.config.retry_initial, self.config.retry_max)
        for attempt in range(1, self.config.max_attempts + 1):
            try:
                async with asyncio.timeout(self.config.handler_timeout):
                    await self.handler(event)
            except PoisonEventError as exc:
                return "rejected", _describe(exc), attempt
            except Exception as exc:
                self.metrics.handler_errors.labels(
                    group=self.group_id, error=type(exc).__name__
                ).inc()
                log.warning(
                    "handler failed on %s %s (attempt %d of %d)",
                    event.type,
                    event.id,
                    attempt,
                    self.config.max_attempts,
                    exc_info=True,
                )
                if attempt == self.config.max_attempts:
                    return "handler_failed", _describe(exc), attempt
            else:
                return None
            if await sleep_unless(self._stop, retry.next_delay()):
                if self.config.dedupe:
                    with contextlib.suppress(Exception):
                        await self._store.release(event.id)
                raise _StoppedError
        raise AssertionError("unreachable: the last attempt returns")

    async def _dead_letter(self, record: Any, reason: str, error: str, attempts: int) -> None:
        headers = [
            *(record.headers or ()),
            ("dlq_reason", reason.encode()),
            ("dlq_error", error[:MAX_ERROR_HEADER_CHARS].encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
            ("dlq_consumer_group", self.group_id.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        async with asyncio.timeout(self.config.handler_timeout):
            await self._producer.send_and_wait(
                dead_letter_topic(record.topic),
                value=record.value,
                key=record.key,
                headers=headers,
            )

    # --- failures of Kafka and Cassandra ---------------------------------------------------

    async def _retry(self, operation: Callable[[], Awaitable[T]], what: str) -> T:
        """Run ``operation`` until it succeeds; raise _StoppedError if stopped meanwhile."""
        while True:
            try:
                result = await operation()
            except Exception as exc:
                self._infrastructure_error(exc, what)
                if await sleep_unless(self._stop, self._backoff.next_delay()):
                    raise _StoppedError from exc
                continue
            self._backoff.reset()
            return result

    def _infrastructure_error(self, exc: BaseException, what: str) -> None:
        self.metrics.infrastructure_errors.labels(
            group=self.group_id, error=type(exc).__name__
        ).inc()
        log.warning("consumer %s could not %s: %s", self.group_id, what, _describe(exc))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
