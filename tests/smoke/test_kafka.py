"""Kafka from devstack is a real broker: topics, producers and consumers round trip."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from devstack.components.kafka import Kafka

MESSAGES = 20
DEADLINE_SECONDS = 60.0


@pytest.fixture
def topic(kafka: Kafka) -> Iterator[str]:
    """A fresh 3-partition topic, deleted afterwards."""
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    name = f"smoke-{uuid.uuid4().hex}"
    created = admin.create_topics(
        [NewTopic(name, num_partitions=3, replication_factor=1)], operation_timeout=30
    )
    created[name].result(timeout=30)
    try:
        yield name
    finally:
        admin.delete_topics([name], operation_timeout=30)[name].result(timeout=30)


def _consume(kafka: Kafka, topic: str, count: int, **extra: str) -> list[Message]:
    """Read count messages from the start of topic in a fresh group, within a deadline."""
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": f"smoke-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **extra,
        }
    )
    received: list[Message] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + DEADLINE_SECONDS
        while len(received) < count and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            error = msg.error()
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                continue
            assert error is None, error
            received.append(msg)
    finally:
        consumer.close()
    return received


def test_produce_consume_round_trip(kafka: Kafka, topic: str) -> None:
    producer = Producer(
        {"bootstrap.servers": kafka.bootstrap_servers, "acks": "all", "enable.idempotence": True}
    )
    delivered: list[Message] = []
    failures: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            failures.append(err)
        else:
            delivered.append(msg)

    sent = {}
    for i in range(MESSAGES):
        key = f"key-{i}".encode()
        value = f"payload {i} {uuid.uuid4().hex}".encode()
        headers: list[tuple[str, str | bytes | None]] = [
            ("index", str(i).encode()),
            ("source", b"devstack-smoke"),
        ]
        sent[key] = (value, headers)
        producer.produce(topic, value=value, key=key, headers=headers, on_delivery=on_delivery)
    assert producer.flush(30) == 0, "messages still queued after 30s"
    assert failures == []
    assert len(delivered) == MESSAGES

    received = _consume(kafka, topic, MESSAGES)
    assert len(received) == MESSAGES
    got = {msg.key(): (msg.value(), msg.headers()) for msg in received}
    assert got == sent
    # Keys hash to partitions: the 3-partition topic really spread them.
    assert len({msg.partition() for msg in received}) > 1


def test_transactions_commit_and_abort(kafka: Kafka, topic: str) -> None:
    """Needs transaction.state.log.* sized for one broker."""
    producer = Producer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "transactional.id": f"smoke-{uuid.uuid4().hex}",
        }
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, key=b"k", value=b"aborted")
    producer.abort_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, key=b"k", value=b"committed")
    producer.commit_transaction(30)

    received = _consume(kafka, topic, 1, **{"isolation.level": "read_committed"})
    assert [msg.value() for msg in received] == [b"committed"]


def test_topics_are_not_auto_created(kafka: Kafka) -> None:
    missing = f"smoke-missing-{uuid.uuid4().hex}"
    producer = Producer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            # Give up on the unknown topic quickly instead of after 30 s.
            "topic.metadata.propagation.max.ms": 2000,
            "message.timeout.ms": 10000,
        }
    )
    errors: list[KafkaError] = []
    producer.produce(
        missing, value=b"x", on_delivery=lambda err, _msg: errors.append(err) if err else None
    )
    assert producer.flush(20) == 0
    assert [e.code() for e in errors] in (
        [KafkaError.UNKNOWN_TOPIC_OR_PART],
        [KafkaError._UNKNOWN_TOPIC],
    )
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    assert missing not in admin.list_topics(timeout=10).topics
