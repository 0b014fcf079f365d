"""Kafka stopped and restarted while events are written: nothing lost, nothing handled twice."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any

import pytest

from devstack.components.kafka import Kafka
from devstack.pytest_plugin import DevstackSession
from productstore_common.cassandra import CassandraSession
from productstore_common.events import (
    CloudEvent,
    ConsumerConfig,
    ConsumerMetrics,
    IdempotentConsumer,
    Outbox,
    OutboxRelay,
    RelayMetrics,
)
from tests.common.events.support import (
    FAST,
    LAYOUT,
    REGISTRY,
    PriceChanged,
    read_topic,
    wait_until,
    write_price_changes,
)
from tests.support.outages import restarting_stack

# Serial in make test: it stops the Kafka every other test uses.
pytestmark = [pytest.mark.anyio, pytest.mark.serial]

PRODUCTS = 5


async def test_events_written_while_kafka_is_down_arrive_once_and_in_order_after_it_returns(
    devstack: DevstackSession, kafka: Kafka, service_db: CassandraSession, topic: str
) -> None:
    stack = restarting_stack(devstack)
    outbox = await Outbox.create(service_db, topic=topic, layout=LAYOUT)
    relay_metrics, consumer_metrics = RelayMetrics(), ConsumerMetrics()
    handled: list[CloudEvent[Any]] = []

    async def handler(event: CloudEvent[Any]) -> None:
        handled.append(event)

    group = f"outage-{uuid.uuid4().hex[:8]}"

    def new_relay(metrics: RelayMetrics) -> OutboxRelay:
        return OutboxRelay(
            service_db,
            bootstrap_servers=kafka.bootstrap_servers,
            outbox=outbox,
            config=FAST,
            metrics=metrics,
        )

    relay, restarted_metrics = new_relay(relay_metrics), RelayMetrics()
    restarted = new_relay(restarted_metrics)
    consumer = IdempotentConsumer(
        service_db,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group,
        topics=[topic],
        registry=REGISTRY,
        handler=handler,
        config=ConsumerConfig(poll_timeout=0.2, backoff_max=1.0),
        metrics=consumer_metrics,
    )
    products = [uuid.uuid4() for _ in range(PRODUCTS)]
    written: list[CloudEvent[Any]] = []

    def sample(metrics: RelayMetrics, name: str, **labels: str) -> float:
        return metrics.registry.get_sample_value(name, labels) or 0.0

    def errors(metrics: RelayMetrics) -> float:
        return sum(
            point.value
            for family in metrics.registry.collect()
            if family.name == "outbox_publish_errors"
            for point in family.samples
            if point.name == "outbox_publish_errors_total"
        )

    async with consumer:
        relay.start()
        try:
            written += await write_price_changes(service_db, outbox, products, per_product=4)
            await wait_until(lambda: len(handled) == len(written), 20, "delivery before the outage")
            try:
                await asyncio.to_thread(stack.down, ["kafka"], dependents=False)
                # Writes go on: the service needs only Cassandra to take them.
                written += await write_price_changes(service_db, outbox, products, per_product=6)
                await wait_until(
                    lambda: sample(relay_metrics, "outbox_pending_events") > 0,
                    15,
                    "the relay to report pending events",
                )
                # The service restarts meanwhile: its new relay cannot even connect.
                await relay.stop()
                restarted.start()
                await wait_until(lambda: errors(restarted_metrics) > 0, 15, "a failed connect")
            finally:
                # On this thread, blocking the loop while Kafka starts: a process
                # tied to its parent dies with the *thread* that started it
                # (PR_SET_PDEATHSIG), and to_thread's worker exits with the loop.
                stack.up(["kafka"])
            written += await write_price_changes(service_db, outbox, products, per_product=4)
            await wait_until(lambda: len(handled) >= len(written), 60, "delivery after the outage")
            await asyncio.sleep(1.0)  # a duplicate, if any, would be handled by now
        finally:
            await relay.stop()
            await restarted.stop()

    assert len(handled) == len(written) == PRODUCTS * 14
    assert sorted(str(event.id) for event in handled) == sorted(str(e.id) for e in written)
    sequences: dict[str, list[int]] = defaultdict(list)
    for event in handled:
        assert isinstance(event.data, PriceChanged)
        sequences[event.subject].append(event.data.sequence)
    assert sequences == {str(p): [*range(4), *range(6), *range(4)] for p in products}
    assert errors(relay_metrics) > 0, "the first relay never saw Kafka down"
    published = "outbox_events_published_total"
    assert sample(relay_metrics, published, topic=topic) == 20
    assert sample(restarted_metrics, published, topic=topic) >= len(written) - 20
    # Whatever reached the log more than once was dropped by the consumer.
    log = await read_topic(kafka.bootstrap_servers, topic, count=len(written), settle=0.5)
    duplicates = consumer_metrics.registry.get_sample_value(
        "events_consumed_total", {"group": group, "outcome": "duplicate"}
    )
    assert len(log) - len(written) == (duplicates or 0)
