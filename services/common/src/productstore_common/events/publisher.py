"""Sends outbox rows to Kafka: idempotent producer, broker ack awaited, one send per row.

A send that timed out stays queued in the producer (idempotent producers
retry a batch until the broker takes it, without duplicates), so the
publisher keeps its future and awaits that same one when the relay tries the
row again; re-sending would put a second copy in the log once Kafka is back.
Each send gets a PRODUCER span, child of the trace that wrote the event (its
context was stored with the outbox row), and the span's context travels in the
record's ``traceparent`` header: OpenTelemetry's messaging conventions for one
message per send, where the send span is the message's creation context and no
separate "create" span is needed. ``productstore.outbox.wait_ms`` is how long the
event waited in the outbox, so a trace shows the relay's share of a user action.

An idempotent producer numbers its batches per partition. A batch it gave up on (it
expired while the broker was away longer than the request timeout) leaves a gap the
broker refuses for good (OutOfOrderSequenceNumber), as it refuses a producer id it
no longer knows: every later send to that partition fails the same way. Such an
error retires the producer; the next ``start()`` (the relay's next pass) opens a new
one, with a new producer id and sequences from zero. What the old one may already
have written is published again, and consumers drop the copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import (  # type: ignore[import-untyped]
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from productstore_common.events.envelope import event_headers
from productstore_common.events.kafka import idempotent_producer
from productstore_common.events.outbox import OutboxRow, unix_seconds
from productstore_common.telemetry.tracing import extract_context, kafka_trace_headers

log = logging.getLogger(__name__)


@dataclass
class _InFlight:
    ack: asyncio.Future[Any]
    sent_at: float


# The broker no longer accepts this producer's sequence (or id): only a new producer helps.
PRODUCER_STATE_LOST: tuple[type[Exception], ...] = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    ProducerFenced,
)


def _failed(ack: asyncio.Future[Any]) -> bool:
    return ack.done() and (ack.cancelled() or ack.exception() is not None)


class OutboxPublisher:
    def __init__(
        self,
        bootstrap_servers: str | Sequence[str],
        *,
        client_id: str,
        tracer: Tracer,
        publish_timeout: float,
        close_timeout: float,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self.publish_timeout = publish_timeout
        self.close_timeout = close_timeout
        self._tracer = tracer
        self._producer: Any = None
        self._inflight: dict[uuid.UUID, _InFlight] = {}
        # Set by a send the broker refused for the producer's state (PRODUCER_STATE_LOST).
        self._retired: str | None = None

    async def start(self) -> None:
        """Connect the producer unless connected (a retired one is replaced); raises
        while Kafka is unreachable."""
        if self._retired is not None and self._producer is not None:
            log.warning("outbox publisher: a new Kafka producer (%s)", self._retired)
            await self.close()
        self._retired = None
        if self._producer is not None:
            return
        producer = idempotent_producer(
            self.bootstrap_servers,
            client_id=self.client_id,
            request_timeout_ms=int(self.publish_timeout * 1000),
        )
        try:
            await producer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), self.close_timeout)
            raise
        self._producer = producer

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                # Flushes what is queued; with the broker down that would wait forever.
                await asyncio.wait_for(producer.stop(), self.close_timeout)
            except Exception:
                log.warning("outbox publisher: Kafka producer did not close cleanly", exc_info=True)
        for entry in self._inflight.values():
            entry.ack.cancel()  # its done-callback ends the span
        self._inflight.clear()

    async def publish(self, row: OutboxRow) -> None:
        """Return once the broker acked ``row``; raises on failure or after publish_timeout."""
        if self._producer is None:
            raise RuntimeError("the publisher is not started")
        entry = self._inflight.get(row.outbox_time)
        if entry is None or _failed(entry.ack):
            entry = _InFlight(await self._send(row), time.monotonic())
            self._inflight[row.outbox_time] = entry
        try:
            async with asyncio.timeout(self.publish_timeout):
                # Shielded: on timeout the send stays queued and the next attempt awaits it.
                await asyncio.shield(entry.ack)
        except PRODUCER_STATE_LOST as exc:
            # Not closed here: other rows of the pass still await this producer's acks.
            self._retired = f"the broker refused the old one: {type(exc).__name__}"
            raise
        del self._inflight[row.outbox_time]

    @property
    def retired(self) -> bool:
        """The producer lost its state at the broker; ``start()`` replaces it."""
        return self._retired is not None

    async def _send(self, row: OutboxRow) -> asyncio.Future[Any]:
        span = self._tracer.start_span(
            f"send {row.topic}",
            context=extract_context(row.trace_context or {}),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.operation.name": "send",
                "messaging.client.id": self.client_id,
                "messaging.destination.name": row.topic,
                "messaging.message.id": str(row.event_id),
                "messaging.kafka.message.key": row.key,
                "cloudevents.event_type": row.event_type,
                "productstore.outbox.wait_ms": round(
                    max(0.0, time.time() - unix_seconds(row.outbox_time)) * 1000, 1
                ),
            },
        )
        headers = event_headers(
            str(row.event_id), row.event_type, kafka_trace_headers(trace.set_span_in_context(span))
        )
        try:
            async with asyncio.timeout(self.publish_timeout):
                # Waits for the topic's metadata; cancelling it un-queues the record.
                ack: asyncio.Future[Any] = await self._producer.send(
                    row.topic, value=row.envelope.encode(), key=row.key.encode(), headers=headers
                )
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            span.end()
            raise
        ack.add_done_callback(lambda done: _end_send_span(span, done))
        return ack

    def forget_settled(self, max_age: float) -> None:
        """Drop failed sends (the next attempt sends anew) and old acked ones."""
        horizon = time.monotonic() - max_age
        for key, entry in list(self._inflight.items()):
            if _failed(entry.ack) or (entry.ack.done() and entry.sent_at < horizon):
                del self._inflight[key]


def _end_send_span(span: Span, ack: asyncio.Future[Any]) -> None:
    if ack.cancelled():
        span.set_status(Status(StatusCode.ERROR, "cancelled"))
    elif (error := ack.exception()) is not None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    else:
        metadata = ack.result()
        span.set_attribute("messaging.destination.partition.id", str(metadata.partition))
        span.set_attribute("messaging.kafka.offset", metadata.offset)
    span.end()
