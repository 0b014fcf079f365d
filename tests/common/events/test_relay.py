"""Outbox relay against real Cassandra and Kafka: every event once, in aggregate order."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
import uuid
from collections import defaultdict
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from devstack.components.kafka import Kafka
from productstore_common.cassandra import CassandraSession
from productstore_common.events import (
    CloudEvent,
    ConsumerConfig,
    IdempotentConsumer,
    Outbox,
    OutboxRelay,
    RelayMetrics,
    header_value,
    new_event,
)
from productstore_common.events.relay import _PassReads
from tests.common.events.support import (
    FAST,
    LAYOUT,
    REGISTRY,
    SOURCE,
    UPDATE_PRICE,
    PriceChanged,
    price_changed,
    read_topic,
    wait_until,
    write_price_changes,
)

pytestmark = pytest.mark.anyio


def by_aggregate(records: list[Any]) -> dict[str, list[int]]:
    sequences: dict[str, list[int]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = REGISTRY.decode(record.value)
        assert isinstance(event.data, PriceChanged)
        assert record.key == event.subject.encode()
        sequences[event.subject].append(event.data.sequence)
    return sequences


async def outbox_rows(db: CassandraSession) -> int:
    return len(await db.execute_all("SELECT outbox_time FROM event_outbox"))


async def test_every_event_is_published_once_in_aggregate_order(
    kafka: Kafka, service_db: CassandraSession, topic: str
) -> None:
    outbox = await Outbox.create(service_db, topic=topic, layout=LAYOUT)
    metrics = RelayMetrics()
    products = [uuid.uuid4() for _ in range(6)]
    async with OutboxRelay(
        service_db,
        bootstrap_servers=kafka.bootstrap_servers,
        outbox=outbox,
        config=FAST,
        metrics=metrics,
    ):
        written = await write_price_changes(service_db, outbox, products, per_product=15)
        records = await read_topic(kafka.bootstrap_servers, topic, count=len(written))
        await wait_until(
            lambda: metrics.registry.get_sample_value("outbox_relay_shards_owned") == 4,
            5,
            "the relay to hold every shard",
        )

    assert sorted(header_value(r.headers, "ce_id") or "" for r in records) == sorted(
        str(event.id) for event in written
    )
    assert by_aggregate(records) == {str(p): list(range(15)) for p in products}
    for record in records:
        assert header_value(record.headers, "ce_type") == PriceChanged.event_type
    published = metrics.registry.get_sample_value("outbox_events_published_total", {"topic": topic})
    assert published == len(written)
    assert metrics.registry.get_sample_value("outbox_pending_events") == 0
    # Published rows are gone; the business rows are there.
    assert await outbox_rows(service_db) == 0
    prices = await service_db.execute_all("SELECT id, seq FROM products")
    assert {(row.id, row.seq) for row in prices} == {(p, 14) for p in products}
    # Released on stop: another replica's relay can take the shards at once.
    assert await service_db.execute_all("SELECT shard FROM event_outbox_lease") == []


async def test_two_relays_never_publish_twice_and_one_takes_over_when_the_other_stops(
    kafka: Kafka, service_db: CassandraSession, topic: str
) -> None:
    outbox = await Outbox.create(service_db, topic=topic, layout=LAYOUT)
    first_metrics, second_metrics = RelayMetrics(), RelayMetrics()
    products = [uuid.uuid4() for _ in range(8)]
    relays = [
        OutboxRelay(
            service_db,
            bootstrap_servers=kafka.bootstrap_servers,
            outbox=outbox,
            config=FAST,
            metrics=metrics,
            owner=name,
        )
        for name, metrics in (("first", first_metrics), ("second", second_metrics))
    ]

    def owned(metrics: RelayMetrics) -> float:
        return metrics.registry.get_sample_value("outbox_relay_shards_owned") or 0.0

    for relay in relays:
        relay.start()
    try:
        await wait_until(
            lambda: owned(first_metrics) + owned(second_metrics) == LAYOUT.shards,
            10,
            "the relays to hold every shard between them",
        )
        # Each shard has one owner: leases are exclusive.
        leases = await service_db.execute_all("SELECT shard, owner FROM event_outbox_lease")
        assert sorted(row.shard for row in leases) == list(range(LAYOUT.shards))
        written = await write_price_changes(service_db, outbox, products, per_product=5)
        await relays[0].stop()
        more = await write_price_changes(service_db, outbox, products, per_product=5)
        await wait_until(lambda: owned(second_metrics) == LAYOUT.shards, 10, "the take-over")
        records = await read_topic(kafka.bootstrap_servers, topic, count=len(written) + len(more))
    finally:
        for relay in relays:
            await relay.stop()

    ids = [header_value(r.headers, "ce_id") for r in records]
    assert len(ids) == len(set(ids)) == len(written) + len(more)
    sequences = by_aggregate(records)
    assert sequences == {str(p): list(range(5)) * 2 for p in products}


async def test_trace_context_travels_from_the_write_to_the_consumer_span(
    kafka: Kafka,
    service_db: CassandraSession,
    topic: str,
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    outbox = await Outbox.create(service_db, topic=topic, layout=LAYOUT)
    handled: list[trace.SpanContext] = []

    async def handler(event: CloudEvent[Any]) -> None:
        handled.append(trace.get_current_span().get_span_context())

    product = uuid.uuid4()
    event = new_event(price_changed(product, 1), source=SOURCE, subject=str(product))
    with provider.get_tracer("test").start_as_current_span("PUT /api/products/{id}") as request:
        await outbox.write([], [event])
    consumer = IdempotentConsumer(
        service_db,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=f"traced-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        registry=REGISTRY,
        handler=handler,
        config=ConsumerConfig(poll_timeout=0.2),
        tracer_provider=provider,
    )
    relay = OutboxRelay(
        service_db,
        bootstrap_servers=kafka.bootstrap_servers,
        outbox=outbox,
        config=FAST,
        tracer_provider=provider,
    )
    async with relay, consumer:
        await wait_until(lambda: bool(handled), 20, "the consumer to handle the event")

    finished = {span.name: span for span in exporter.get_finished_spans()}
    send, process = finished[f"send {topic}"], finished[f"process {topic}"]
    request_context = request.get_span_context()
    assert send.kind is SpanKind.PRODUCER
    assert process.kind is SpanKind.CONSUMER
    # One trace: request -> send (relay) -> process (consumer) -> handler.
    assert {s.context.trace_id for s in (send, process)} == {request_context.trace_id}
    assert send.parent is not None and send.parent.span_id == request_context.span_id
    assert process.parent is not None and process.parent.span_id == send.context.span_id
    assert handled[0].span_id == process.context.span_id
    assert send.attributes is not None and process.attributes is not None
    assert send.attributes["messaging.message.id"] == str(event.id)
    assert process.attributes["messaging.message.id"] == str(event.id)
    assert "messaging.kafka.offset" in send.attributes
    # The messaging conventions' operation names; the outbox wait and the record's age
    # say where a slow hop spent its time; the process span links the send it handles.
    assert (
        send.attributes["messaging.operation.name"],
        process.attributes["messaging.operation.name"],
    ) == ("send", "process")
    wait, age = (
        send.attributes["productstore.outbox.wait_ms"],
        process.attributes["productstore.kafka.record_age_ms"],
    )
    assert isinstance(wait, float) and 0 <= wait < 20_000
    assert isinstance(age, int) and 0 <= age < 20_000
    assert [link.context.span_id for link in process.links] == [send.context.span_id]


def test_a_pass_publishes_later_reads_only_up_to_its_first_read() -> None:
    """The first read of a pass may publish anything it sees; later reads only rows
    stamped before the first read (less the guard), so none overtakes a row whose
    write was still under way when an earlier read of the pass missed it."""
    reads = _PassReads(guard_seconds=0.5)
    before = time.time()
    assert reads.started_read() is None
    bound = reads.started_read()
    assert bound is not None
    assert before - 0.5 <= bound <= time.time() - 0.5
    assert reads.started_read() == bound  # every later read of the pass: the same bound


async def test_a_fresh_event_is_published_at_once_while_the_cursor_is_a_bucket_behind(
    kafka: Kafka, service_db: CassandraSession, topic: str
) -> None:
    """The cursor stays behind for `settle_seconds` after each bucket ends, so most
    passes read older (empty) buckets before the newest: read in that order, a row
    written just now waited out the order guard and the poll interval. The pass reads
    the newest bucket first and publishes it last, so it goes at once, in order."""
    outbox = await Outbox.create(service_db, topic=topic, layout=LAYOUT)
    metrics = RelayMetrics()
    # Every pass spans many 2 s buckets; a row held by the guard would wait >= 3 s.
    config = dataclasses.replace(
        FAST, settle_seconds=30.0, order_guard_seconds=3.0, poll_interval=5.0
    )
    product = uuid.uuid4()
    update = await service_db.prepare_async(UPDATE_PRICE)

    def published_more_than(events: int) -> bool:
        labels = {"topic": topic}
        found = metrics.registry.get_sample_value("outbox_events_published_total", labels)
        return (found or 0.0) > events

    async with OutboxRelay(
        service_db,
        bootstrap_servers=kafka.bootstrap_servers,
        outbox=outbox,
        config=config,
        metrics=metrics,
    ):
        await wait_until(
            lambda: metrics.registry.get_sample_value("outbox_relay_shards_owned") == 4,
            10,
            "the relay to hold every shard",
        )
        delays = []
        for seq in range(5):
            event = new_event(price_changed(product, seq), source=SOURCE, subject=str(product))
            written = time.monotonic()
            await outbox.write([update.bind((event.data.price, seq, product))], [event])
            await wait_until(functools.partial(published_more_than, seq), 10, "publication", 0.01)
            delays.append(time.monotonic() - written)
            await asyncio.sleep(0.3)
    records = await read_topic(kafka.bootstrap_servers, topic, count=5)
    assert by_aggregate(records) == {str(product): list(range(5))}
    # Not the guard (3 s) nor the poll interval (5 s): the write's own wake-up.
    assert max(delays) < 1.5, delays
