"""Idempotent consumer against real Kafka and Cassandra: dedupe, retries, dead letters."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]

from devstack.components.kafka import Kafka
from productstore_common.cassandra import CassandraSession
from productstore_common.events import (
    CloudEvent,
    ConsumerConfig,
    ConsumerMetrics,
    Handler,
    IdempotentConsumer,
    PoisonEventError,
    dead_letter_topic,
    header_value,
    new_event,
    to_kafka_record,
)
from productstore_common.events.dedupe import ProcessedEvents
from tests.common.events.support import (
    REGISTRY,
    SOURCE,
    ProductDeleted,
    eventually,
    price_changed,
    read_topic,
    wait_until,
)

pytestmark = pytest.mark.anyio

KEY = b"aggregate-1"  # one key: one partition, so records arrive in the order sent
FAST = ConsumerConfig(
    max_attempts=3,
    retry_initial=0.05,
    retry_max=0.2,
    handler_timeout=2.0,
    claim_ttl_seconds=30,
    poll_timeout=0.2,
    backoff_max=1.0,
)


def event(sequence: int) -> CloudEvent[Any]:
    product = uuid.uuid4()
    return new_event(price_changed(product, sequence), source=SOURCE, subject=str(product))


async def produce(
    kafka: Kafka, topic: str, records: list[tuple[bytes, list[tuple[str, bytes]]]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for value, headers in records:
            await producer.send_and_wait(topic, value=value, key=KEY, headers=headers)
    finally:
        await producer.stop()


def as_record(item: CloudEvent[Any]) -> tuple[bytes, list[tuple[str, bytes]]]:
    record = to_kafka_record(item)
    return record.value, record.headers


@asynccontextmanager
async def consuming(
    *,
    kafka: Kafka,
    db: CassandraSession,
    topic: str,
    group: str,
    handler: Handler,
    metrics: ConsumerMetrics,
    config: ConsumerConfig = FAST,
    handles: list[str] | None = None,
) -> AsyncIterator[IdempotentConsumer]:
    consumer = IdempotentConsumer(
        db,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group,
        topics=[topic],
        registry=REGISTRY,
        handler=handler,
        config=config,
        metrics=metrics,
        handles=handles,
    )
    async with consumer:
        yield consumer


def outcomes(metrics: ConsumerMetrics, group: str) -> Callable[[str], float]:
    def count(outcome: str) -> float:
        labels = {"group": group, "outcome": outcome}
        return metrics.registry.get_sample_value("events_consumed_total", labels) or 0.0

    return count


async def test_the_same_event_delivered_again_is_handled_once(
    kafka: Kafka, module_db: CassandraSession, topic: str
) -> None:
    first, second, third = event(1), event(2), event(3)
    # The relay may publish a copy (crash between ack and delete): the same id twice.
    await produce(kafka, topic, [as_record(e) for e in (first, second, first, third, second)])
    handled: list[uuid.UUID] = []

    async def handler(item: CloudEvent[Any]) -> None:
        handled.append(item.id)

    group = f"dedupe-{uuid.uuid4().hex[:8]}"
    metrics = ConsumerMetrics()
    count = outcomes(metrics, group)
    async with consuming(
        kafka=kafka, db=module_db, topic=topic, group=group, handler=handler, metrics=metrics
    ):
        await wait_until(lambda: count("handled") + count("duplicate") == 5, 20, "5 records")
    assert handled == [first.id, second.id, third.id]
    assert count("duplicate") == 2

    # A crash before the commit: the group's offsets go back to the start and a
    # new member gets every record again. The handler must not run again.
    rewind = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=group)
    await rewind.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(3)]
        rewind.assign(partitions)
        await rewind.commit({tp: 0 for tp in partitions})
    finally:
        await rewind.stop()
    async with consuming(
        kafka=kafka, db=module_db, topic=topic, group=group, handler=handler, metrics=metrics
    ):
        await wait_until(lambda: count("duplicate") == 7, 20, "the redelivery")
    assert handled == [first.id, second.id, third.id]
    assert count("handled") == 3


async def test_an_idempotent_handler_skips_the_dedupe_store_and_other_types_cost_nothing(
    kafka: Kafka, module_db: CassandraSession, topic: str
) -> None:
    """dedupe=False: a copy reaches the handler again (it is idempotent by itself) and no
    claim is written; a type outside `handles` is decoded and committed, never handled."""
    changed = event(1)
    deleted = new_event(ProductDeleted(product_id=uuid.uuid4()), source=SOURCE, subject="p")
    await produce(kafka, topic, [as_record(e) for e in (changed, deleted, changed)])
    handled: list[uuid.UUID] = []

    async def handler(item: CloudEvent[Any]) -> None:
        handled.append(item.id)

    group = f"nodedupe-{uuid.uuid4().hex[:8]}"
    metrics = ConsumerMetrics()
    count = outcomes(metrics, group)
    async with consuming(
        kafka=kafka,
        db=module_db,
        topic=topic,
        group=group,
        handler=handler,
        metrics=metrics,
        config=dataclasses.replace(FAST, dedupe=False),
        handles=[changed.type],
    ):
        await wait_until(lambda: count("handled") + count("skipped") == 3, 20, "3 records")
    assert handled == [changed.id, changed.id]
    assert count("skipped") == 1
    assert count("duplicate") == 0
    for item in (changed, deleted):
        page = await module_db.execute_async(
            "SELECT status FROM processed_events WHERE consumer_group = ? AND event_id = ?",
            (group, item.id),
        )
        assert page.rows == [], f"a claim or mark of {item.type}"


def test_handles_must_name_types_the_registry_knows(module_db: CassandraSession) -> None:
    with pytest.raises(ValueError, match=r"does not know: \['productstore.x.Nope.v1'\]"):
        IdempotentConsumer(
            module_db,
            bootstrap_servers="127.0.0.1:9",
            group_id="g",
            topics=["t"],
            registry=REGISTRY,
            handler=lambda _: asyncio.sleep(0),
            handles=["productstore.x.Nope.v1"],
        )


async def test_unreadable_and_failing_events_go_to_the_dead_letter_topic_and_the_loop_goes_on(
    kafka: Kafka, module_db: CassandraSession, topic: str
) -> None:
    rejected, flaky, broken, good = event(1), event(2), event(3), event(4)
    unknown = json.loads(event(5).to_json())
    unknown["type"] = "productstore.catalog.Unheard.v1"
    bad_payload = json.loads(event(6).to_json())
    bad_payload["data"]["price"] = "cheap"
    records = [
        (b"\x00garbage", [("ce_id", b"?")]),
        (json.dumps(unknown).encode(), []),
        (json.dumps(bad_payload).encode(), []),
        as_record(rejected),
        as_record(flaky),
        as_record(broken),
        as_record(good),
    ]
    await produce(kafka, topic, records)
    attempts: dict[uuid.UUID, int] = {}
    handled: list[uuid.UUID] = []

    async def handler(item: CloudEvent[Any]) -> None:
        attempts[item.id] = attempts.get(item.id, 0) + 1
        if item.id == rejected.id:
            raise PoisonEventError("price below zero can never apply")
        if item.id == flaky.id and attempts[item.id] == 1:
            raise ConnectionError("search index briefly unreachable")
        if item.id == broken.id:
            raise RuntimeError("bug in the handler")
        handled.append(item.id)

    group = f"dlq-{uuid.uuid4().hex[:8]}"
    metrics = ConsumerMetrics()
    count = outcomes(metrics, group)
    async with consuming(
        kafka=kafka, db=module_db, topic=topic, group=group, handler=handler, metrics=metrics
    ):
        await wait_until(lambda: good.id in handled, 30, "the good event after the bad ones")

    assert handled == [flaky.id, good.id]
    assert attempts == {rejected.id: 1, flaky.id: 2, broken.id: FAST.max_attempts, good.id: 1}
    assert count("dead_lettered") == 5
    assert count("handled") == 2
    errors = {"group": group, "error": "RuntimeError"}
    assert metrics.registry.get_sample_value("event_handler_errors_total", errors) == 3

    dead = await read_topic(kafka.bootstrap_servers, dead_letter_topic(topic), count=5)
    dead.sort(key=lambda r: int(header_value(r.headers, "dlq_offset") or -1))
    assert [(header_value(r.headers, "dlq_reason"), r.value) for r in dead] == [
        ("malformed", records[0][0]),
        ("unknown_type", records[1][0]),
        ("invalid_payload", records[2][0]),
        ("rejected", records[3][0]),
        ("handler_failed", records[5][0]),
    ]
    assert all(r.key == KEY for r in dead)
    assert [header_value(r.headers, "dlq_offset") for r in dead] == ["0", "1", "2", "3", "5"]
    assert [header_value(r.headers, "dlq_attempts") for r in dead] == ["0", "0", "0", "1", "3"]
    assert {header_value(r.headers, "dlq_topic") for r in dead} == {topic}
    assert {header_value(r.headers, "dlq_consumer_group") for r in dead} == {group}
    assert "Unheard" in (header_value(dead[1].headers, "dlq_error") or "")
    assert "price" in (header_value(dead[2].headers, "dlq_error") or "")
    assert header_value(dead[3].headers, "dlq_error") == (
        "PoisonEventError: price below zero can never apply"
    )
    assert header_value(dead[4].headers, "dlq_error") == "RuntimeError: bug in the handler"
    # The original headers travel along (ids, trace).
    assert header_value(dead[3].headers, "ce_id") == str(rejected.id)


async def test_a_claim_held_by_another_consumer_makes_others_wait_until_done_or_expired(
    module_db: CassandraSession,
) -> None:
    group = f"claims-{uuid.uuid4().hex[:8]}"
    store = {
        name: ProcessedEvents(
            module_db, group=group, owner=name, claim_ttl_seconds=2, dedupe_ttl_seconds=60
        )
        for name in ("a", "b")
    }
    done, crashed = uuid.uuid4(), uuid.uuid4()
    kind = ProductDeleted.event_type
    assert await store["a"].claim(done, kind) == "claimed"
    assert await store["a"].claim(done, kind) == "claimed"  # its own claim, tried again
    assert await store["b"].claim(done, kind) == "busy"
    assert await store["a"].finish(done, kind, "done")
    assert await store["b"].claim(done, kind) == "finished"

    # "a" dies while handling: its claim expires and "b" takes the event over.
    assert await store["a"].claim(crashed, kind) == "claimed"
    assert await store["b"].claim(crashed, kind) == "busy"

    async def claimed_by_b() -> bool:
        return await store["b"].claim(crashed, kind) == "claimed"

    await eventually(claimed_by_b, 6, "the dead consumer's claim to expire")
    # The late "a" can no longer mark it: "b" owns it now.
    assert not await store["a"].finish(crashed, kind, "done")
    assert await store["b"].finish(crashed, kind, "done")


async def test_keys_are_handled_at_once_each_in_order_and_committed_to_the_end(
    kafka: Kafka, module_db: CassandraSession, topic: str
) -> None:
    """`key_concurrency`: the first event of every key waits until all four keys have
    started, which a consumer that handles one record at a time never lets happen
    (the keys fall on the topic's three partitions: partitions run at once too)."""
    keys = [f"order-{n}".encode() for n in range(4)]
    sent = [(key, event(sequence)) for sequence in range(3) for key in keys]
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for key, item in sent:
            value, headers = as_record(item)
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()
    key_of = {item.id: key for key, item in sent}
    started: set[bytes] = set()
    everyone_started = asyncio.Event()
    order: dict[bytes, list[int]] = {key: [] for key in keys}
    waited_in_vain: list[bytes] = []

    async def handler(item: CloudEvent[Any]) -> None:
        key = key_of[item.id]
        if key not in started:
            started.add(key)
            if len(started) == len(keys):
                everyone_started.set()
            try:
                await asyncio.wait_for(everyone_started.wait(), timeout=1.5)
            except TimeoutError:
                waited_in_vain.append(key)
        order[key].append(item.data.sequence)

    metrics = ConsumerMetrics()
    group = f"keys-{uuid.uuid4().hex[:8]}"
    config = dataclasses.replace(FAST, key_concurrency=4)
    async with consuming(
        kafka=kafka,
        db=module_db,
        topic=topic,
        group=group,
        handler=handler,
        metrics=metrics,
        config=config,
    ):
        await wait_until(lambda: sum(map(len, order.values())) == len(sent), 30, "all handled")
        handled = outcomes(metrics, group)
        await wait_until(lambda: handled("handled") == len(sent), 10, "all counted")

    assert waited_in_vain == []
    assert order == {key: [0, 1, 2] for key in keys}
    # Everything handled is committed: each partition's position is its end.
    reader = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await reader.start()
    try:
        partitions = [TopicPartition(topic, n) for n in range(3)]
        ends = await reader.end_offsets(partitions)
        committed = {p: await reader.committed(p) or 0 for p in partitions}
        assert committed == ends
        assert sum(ends.values()) == len(sent)
    finally:
        await reader.stop()


def test_key_concurrency_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="key_concurrency"):
        ConsumerConfig(key_concurrency=0)


async def test_lag_counts_the_records_a_group_has_not_reached_and_ends_at_zero(
    kafka: Kafka, module_db: CassandraSession, topic: str
) -> None:
    await produce(kafka, topic, [as_record(event(n)) for n in range(12)])
    release = asyncio.Event()

    async def handler(item: CloudEvent[Any]) -> None:
        await release.wait()

    group = f"lag-{uuid.uuid4().hex[:8]}"
    metrics = ConsumerMetrics()
    count = outcomes(metrics, group)

    def lag() -> float | None:
        return metrics.registry.get_sample_value("event_consumer_lag_records", {"group": group})

    seen: list[float] = []
    # One record a poll: after each, the lag is what is left of the topic.
    one_at_a_time = dataclasses.replace(FAST, max_records=1, dedupe=False)
    async with consuming(
        kafka=kafka, db=module_db, topic=topic, group=group, handler=handler,
        metrics=metrics, config=one_at_a_time,
    ):  # fmt: skip
        assert lag() == 0  # the series exists before the first poll
        release.set()

        async def watch() -> bool:
            seen.append(lag() or 0.0)
            return count("handled") == 12 and lag() == 0

        await eventually(watch, 30, "12 records handled and no lag", interval=0.01)
    assert max(seen) > 0, seen


async def test_a_live_consumer_keeps_its_claim_past_the_ttl_while_its_handler_runs(
    kafka: Kafka, module_db: CassandraSession, topic: str
) -> None:
    """The claim's TTL is short (a killed consumer's event waits no longer), so a live
    consumer renews it while handling: another consumer finds it busy long after the
    first TTL would have ended, and the event is handled once."""
    ttl = 3
    config = dataclasses.replace(FAST, claim_ttl_seconds=ttl, handler_timeout=120.0)
    slow = event(1)
    started, release = asyncio.Event(), asyncio.Event()
    handled: list[uuid.UUID] = []

    async def handler(item: CloudEvent[Any]) -> None:
        started.set()
        await release.wait()
        handled.append(item.id)

    group = f"renew-{uuid.uuid4().hex[:8]}"
    other = ProcessedEvents(
        module_db, group=group, owner="other", claim_ttl_seconds=ttl, dedupe_ttl_seconds=60
    )
    metrics = ConsumerMetrics()
    count = outcomes(metrics, group)
    await produce(kafka, topic, [as_record(slow)])
    async with consuming(
        kafka=kafka,
        db=module_db,
        topic=topic,
        group=group,
        handler=handler,
        metrics=metrics,
        config=config,
    ):
        await asyncio.wait_for(started.wait(), 60)
        first = await module_db.execute_async(
            "SELECT updated_at FROM processed_events WHERE consumer_group = ? AND event_id = ?",
            (group, slow.id),
        )
        claimed_at = first.one().updated_at

        async def renewed_past_the_ttl() -> bool:
            page = await module_db.execute_async(
                "SELECT updated_at FROM processed_events WHERE consumer_group = ? AND event_id = ?",
                (group, slow.id),
            )
            row = page.one()
            assert row is not None, "the live consumer's claim expired"
            return bool((row.updated_at - claimed_at).total_seconds() > ttl)

        # Renewed at a moment the first claim would have expired: the row still there.
        await eventually(renewed_past_the_ttl, 60, "a renewal after the first TTL")
        assert await other.claim(slow.id, slow.type) == "busy"
        release.set()
        await wait_until(lambda: count("handled") == 1, 30, "the slow event")
    assert handled == [slow.id]
    assert await other.claim(slow.id, slow.type) == "finished"
