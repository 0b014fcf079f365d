"""The outbox publisher against devstack's Kafka: a producer whose sequence the broker
refuses for good is retired and replaced, and the rows it could not send arrive."""

from __future__ import annotations

import json
import uuid

import pytest
from aiokafka.errors import OutOfOrderSequenceNumber  # type: ignore[import-untyped]
from aiokafka.structs import TopicPartition  # type: ignore[import-untyped]
from opentelemetry.sdk.trace import TracerProvider

from devstack.components.kafka import Kafka
from productstore_common.events.kafka import ensure_topics
from productstore_common.events.outbox import OutboxRow
from productstore_common.events.publisher import OutboxPublisher
from tests.common.events.support import read_topic

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _row(topic: str, n: int) -> OutboxRow:
    event_id = uuid.uuid4()
    return OutboxRow(
        shard=0,
        bucket=0,
        outbox_time=uuid.uuid1(),
        event_id=event_id,
        event_type="io.productstore.test.numbered",
        topic=topic,
        key="aggregate-1",
        envelope=json.dumps({"id": str(event_id), "n": n}),
        trace_context=None,
    )


async def test_a_sequence_gap_the_broker_refuses_retires_the_producer(kafka: Kafka) -> None:
    topic = f"pstest-publisher-{uuid.uuid4().hex[:10]}"
    await ensure_topics(kafka.bootstrap_servers, [topic], partitions=1)
    publisher = OutboxPublisher(
        kafka.bootstrap_servers,
        client_id=f"pstest-{uuid.uuid4().hex[:8]}",
        tracer=TracerProvider().get_tracer("tests"),
        publish_timeout=30.0,
        close_timeout=10.0,
    )
    first, second, third = (_row(topic, n) for n in (1, 2, 3))
    await publisher.start()
    try:
        await publisher.publish(first)
        old = publisher._producer
        # What a batch the producer gave up on leaves behind (it expired while the
        # broker was away): the next batch's sequence skips numbers the broker never saw.
        old._txn_manager.increment_sequence_number(TopicPartition(topic, 0), 3)
        with pytest.raises(OutOfOrderSequenceNumber):
            await publisher.publish(second)
        assert publisher.retired
        # The relay's next pass: start() replaces the producer, and the row goes out.
        await publisher.start()
        assert publisher._retired is None, "a new producer, not retired"
        assert publisher._producer is not old
        await publisher.publish(second)
        await publisher.publish(third)
    finally:
        await publisher.close()

    records = await read_topic(kafka.bootstrap_servers, topic, count=3)
    # Each once, in order: the refused batch never reached the log.
    assert [json.loads(r.value)["n"] for r in records] == [1, 2, 3]
