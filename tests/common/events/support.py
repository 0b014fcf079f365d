"""Payloads, topics and readers shared by the event-layer tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, ClassVar

from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]

from productstore_common.cassandra import CassandraSession
from productstore_common.events import (
    CloudEvent,
    EventPayload,
    EventRegistry,
    Outbox,
    OutboxLayout,
    RelayConfig,
    new_event,
)

SOURCE = "/productstore/tests"


class PriceChanged(EventPayload):
    event_type: ClassVar[str] = "productstore.catalog.PriceChanged.v1"

    product_id: uuid.UUID
    sequence: int
    price: Decimal
    currency: str


class ProductDeleted(EventPayload):
    event_type: ClassVar[str] = "productstore.catalog.ProductDeleted.v1"

    product_id: uuid.UUID


REGISTRY = EventRegistry([PriceChanged, ProductDeleted])

UPDATE_PRICE = "UPDATE products SET price = ?, seq = ? WHERE id = ?"
# Small buckets and a short settle time: a test of seconds crosses buckets and
# moves cursors, as hours of production traffic would.
LAYOUT = OutboxLayout(shards=4, bucket_seconds=2)
FAST = RelayConfig(
    poll_interval=0.2,
    publish_timeout=3.0,
    backoff_initial=0.1,
    backoff_max=1.0,
    lease_ttl_seconds=3,
    settle_seconds=1.0,
    sweep_window_seconds=10.0,
    stop_timeout=4.0,
)


def price_changed(product_id: uuid.UUID, sequence: int) -> PriceChanged:
    return PriceChanged(
        product_id=product_id, sequence=sequence, price=Decimal("9.99") + sequence, currency="EUR"
    )


async def write_price_changes(
    db: CassandraSession, outbox: Outbox, products: list[uuid.UUID], per_product: int
) -> list[CloudEvent[Any]]:
    """Each product's changes in sequence (products concurrently), each with its row update."""
    update = await db.prepare_async(UPDATE_PRICE)
    written: list[CloudEvent[Any]] = []

    async def changes(product: uuid.UUID) -> None:
        for seq in range(per_product):
            event = new_event(price_changed(product, seq), source=SOURCE, subject=str(product))
            await outbox.write([update.bind((event.data.price, seq, product))], [event])
            written.append(event)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(changes(product) for product in products))
    return written


async def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


async def read_topic(
    bootstrap_servers: str,
    topic: str,
    *,
    count: int,
    timeout: float = 30.0,
    settle: float = 1.0,
) -> list[Any]:
    """Every record of ``topic`` from the start: at least ``count``, then ``settle`` s more
    (so that duplicates beyond ``count`` are seen too)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=f"reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        settled_at: float | None = None
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                records.extend(batch)
            if len(records) >= count:
                settled_at = settled_at or time.monotonic() + settle
                if time.monotonic() >= settled_at:
                    break
    finally:
        await consumer.stop()
    return records


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float, what: str, interval: float = 0.2
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)
