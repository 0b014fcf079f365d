"""Kafka events: CloudEvents envelope, Cassandra outbox and its relay, idempotent consumer.

See the Events section of services/common/README.md.
"""

from productstore_common.events.backoff import Backoff
from productstore_common.events.consumer import (
    ConsumerConfig,
    Handler,
    IdempotentConsumer,
    PoisonEventError,
)
from productstore_common.events.envelope import (
    MAX_ENVELOPE_BYTES,
    CloudEvent,
    EventDecodeError,
    EventRegistry,
    KafkaRecord,
    header_value,
    new_event,
    to_kafka_record,
)
from productstore_common.events.kafka import dead_letter_topic, ensure_topics, idempotent_producer
from productstore_common.events.metrics import ConsumerMetrics, RelayMetrics
from productstore_common.events.outbox import (
    EventTooLargeError,
    Outbox,
    OutboxLayout,
    event_tables_cql,
)
from productstore_common.events.relay import OutboxRelay, RelayConfig
from productstore_contracts.events import EventPayload

__all__ = [
    "MAX_ENVELOPE_BYTES",
    "Backoff",
    "CloudEvent",
    "ConsumerConfig",
    "ConsumerMetrics",
    "EventDecodeError",
    "EventPayload",
    "EventRegistry",
    "EventTooLargeError",
    "Handler",
    "IdempotentConsumer",
    "KafkaRecord",
    "Outbox",
    "OutboxLayout",
    "OutboxRelay",
    "PoisonEventError",
    "RelayConfig",
    "RelayMetrics",
    "dead_letter_topic",
    "ensure_topics",
    "event_tables_cql",
    "header_value",
    "idempotent_producer",
    "new_event",
    "to_kafka_record",
]
