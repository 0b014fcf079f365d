"""What the inventory tests share: settings on devstack, the Kafka side (order events in,
inventory events out), and the app's own objects."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.redis import Redis
from productstore_common.events import CloudEvent, EventRegistry, new_event, to_kafka_record
from productstore_common.kit.container import container_of
from productstore_common.telemetry.metrics import AppMetrics
from productstore_contracts.events import EventPayload
from productstore_contracts.events.inventory import INVENTORY_EVENTS
from productstore_contracts.events.orders import ORDERS_SOURCE, OrderLine, OrderPlaced
from productstore_inventory.app.core.config import InventorySettings
from productstore_inventory.app.services.reorder import ReorderPlanner
from productstore_inventory.app.services.reservations import Reservations
from productstore_inventory.app.services.stock import StockLevels
from productstore_inventory.app.services.stream import StockFeed, StreamMetrics
from tests.support.event_log import TopicLog

# Re-exported (mypy's explicit form) for the test modules that import them from here.
from tests.support.problems import assert_problem as assert_problem  # noqa: PLC0414
from tests.support.problems import bearer as bearer  # noqa: PLC0414

DEADLINE_SECONDS = 60.0


@dataclass(frozen=True)
class Backing:
    """A test module's keyspace and topics (created for it, dropped after it)."""

    keyspace: str
    events_topic: str
    orders_topic: str


def inventory_settings(
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    backing: Backing,
    jwks_url: str,
    **overrides: Any,
) -> InventorySettings:
    values: dict[str, Any] = {
        "environment": "test",
        "cassandra_contact_points": cassandra.contact_points,
        "cassandra_port": cassandra.port,
        # devstack's superuser: the session's keyspace is made by the tests.
        "cassandra_username": cassandra.username,
        "cassandra_password": cassandra.password,
        "cassandra_local_dc": cassandra.local_dc,
        "cassandra_keyspace": backing.keyspace,
        "cassandra_consistency": "ONE",
        "migrate_on_start": False,
        "kafka_bootstrap_servers": kafka.bootstrap_servers,
        # Role epochs (who is still an admin) are read there.
        "redis_url": redis_server.env()["REDIS_URL"],
        "events_topic": backing.events_topic,
        "orders_topic": backing.orders_topic,
        "consumer_group": f"inventory-test-{uuid.uuid4().hex[:12]}",
        "create_topics": False,
        "jwt_jwks_url": jwks_url,
    }
    values.update(overrides)
    return InventorySettings(**values)


def reservations_of(app: FastAPI) -> Reservations:
    return container_of(app).get(Reservations)


def levels_of(app: FastAPI) -> StockLevels:
    return container_of(app).get(StockLevels)


def planner_of(app: FastAPI) -> ReorderPlanner:
    return container_of(app).get(ReorderPlanner)


def placed(order_id: uuid.UUID, lines: Iterable[tuple[uuid.UUID, int]]) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        user_id=uuid.uuid4(),
        lines=[OrderLine(product_id=product, quantity=quantity) for product, quantity in lines],
    )


async def send_order_events(
    kafka: Kafka, topic: str, payloads: Iterable[tuple[EventPayload, uuid.UUID | None]]
) -> list[CloudEvent[Any]]:
    """Publish order events as the orders service will (key = order id); an event id
    may be given, to send the same event twice."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    sent: list[CloudEvent[Any]] = []
    try:
        for payload, event_id in payloads:
            subject = str(payload.order_id)  # type: ignore[attr-defined]
            event = new_event(payload, source=ORDERS_SOURCE, subject=subject, id=event_id)
            record = to_kafka_record(event)
            await producer.send_and_wait(
                topic, record.value, key=record.key, headers=record.headers
            )
            sent.append(event)
    finally:
        await producer.stop()
    return sent


class EventLog(TopicLog):
    """Every inventory event of the module's topic, read from its start."""

    def __init__(self, kafka: Kafka, topic: str) -> None:
        super().__init__(kafka, topic, INVENTORY_EVENTS, name="inventory")


def stock_feed(*, max_streams: int = 5, queue_size: int = 3, replay_size: int = 4) -> StockFeed:
    """A feed that is never started: its fan-out driven by hand (publish)."""
    return StockFeed(
        bootstrap_servers="127.0.0.1:1",
        topic="unused",
        registry=EventRegistry(INVENTORY_EVENTS),
        metrics=StreamMetrics.of(AppMetrics("test", process_metrics=False)),
        max_streams=max_streams,
        queue_size=queue_size,
        replay_size=replay_size,
    )
