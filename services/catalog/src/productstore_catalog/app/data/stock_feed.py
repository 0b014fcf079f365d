"""Inventory's events, consumed for the products' `in_stock`.

One consumer group for the whole service (not one per replica, as the search
feed): a StockChanged is applied once, by whichever replica holds its partition,
as a product write whose own event brings every replica's index along. A new
group starts at the topic's beginning, so a new deployment takes in every stock
level still in the topic; the handler is idempotent and keeps the newest version.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.trace import TracerProvider

from productstore_common.cassandra import CassandraSession
from productstore_common.events import (
    ConsumerConfig,
    ConsumerMetrics,
    EventRegistry,
    Handler,
    IdempotentConsumer,
)
from productstore_contracts.events.inventory import INVENTORY_EVENTS, StockChanged


def stock_registry() -> EventRegistry:
    """Every type of the inventory topic: the order outcomes (StockReserved, ...) are
    decoded and skipped (no claim, no handler) rather than dead-lettered as unknown."""
    return EventRegistry(INVENTORY_EVENTS)


def stock_feed(
    db: CassandraSession,
    *,
    bootstrap_servers: str | Sequence[str],
    group_id: str,
    topic: str,
    handler: Handler,
    metrics: ConsumerMetrics | None = None,
    tracer_provider: TracerProvider | None = None,
) -> IdempotentConsumer:
    return IdempotentConsumer(
        db,
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        topics=[topic],
        registry=stock_registry(),
        handler=handler,
        # The handler keeps the newest level by version (USING TIMESTAMP): a redelivery
        # changes nothing, so no dedupe store; the order outcomes cost no claim.
        config=ConsumerConfig(auto_offset_reset="earliest", dedupe=False),
        handles=[StockChanged.event_type],
        metrics=metrics,
        tracer_provider=tracer_provider,
    )
