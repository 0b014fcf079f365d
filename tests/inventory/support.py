"""What the inventory tests share: settings on devstack, the Kafka side (order events in,
inventory events out), and the app's own objects."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
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

# Re-exported (mypy's explicit form) for the test modules that import them from here.
from tests.support.contracts import check_published
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


class EventLog:
    """Every inventory event of the module's topic, read from its start."""

    def __init__(self, kafka: Kafka, topic: str) -> None:
        self.registry = EventRegistry(INVENTORY_EVENTS)
        self.events: list[CloudEvent[Any]] = []
        self._reader = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka.bootstrap_servers,
            group_id=f"inventory-log-{uuid.uuid4().hex[:12]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )

    async def start(self) -> None:
        await self._reader.start()

    async def stop(self) -> None:
        await self._reader.stop()

    async def _poll(self) -> None:
        batches = await self._reader.getmany(timeout_ms=300)
        for records in batches.values():
            for record in records:
                # Every record must be a valid inventory event (the contract), of
                # the schema published for its type.
                check_published(record.value)
                self.events.append(self.registry.decode(record.value))

    async def wait_for(
        self,
        predicate: Callable[[list[CloudEvent[Any]]], bool],
        what: str,
        timeout: float = DEADLINE_SECONDS,
    ) -> list[CloudEvent[Any]]:
        deadline = time.monotonic() + timeout
        while not predicate(self.events):
            assert time.monotonic() < deadline, f"no {what} in {len(self.events)} events"
            await self._poll()
            await asyncio.sleep(0)
        return self.events

    async def settle(self, seconds: float) -> list[CloudEvent[Any]]:
        """Everything that arrives within `seconds` (to show something did not happen)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await self._poll()
        return self.events

    def of(self, subject: object, kind: type[EventPayload] | None = None) -> list[Any]:
        return [
            event.data
            for event in self.events
            if event.subject == str(subject) and (kind is None or isinstance(event.data, kind))
        ]


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
