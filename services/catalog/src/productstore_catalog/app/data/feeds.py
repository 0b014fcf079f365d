"""The catalog's consumers of other services' topics (stock levels, ratings).

One consumer group for the whole service per topic (not one per replica, as the
search feed): an event is applied once, by whichever replica holds its partition,
as a product write whose own event brings every replica's index along. A new group
starts at the topic's beginning, so a new deployment takes in every value still in
the topic. The handlers keep each value by version (USING TIMESTAMP) and compute
from all of them, so a redelivery changes nothing: no dedupe store. The topic's
other types are decoded and skipped (no claim, no handler) rather than
dead-lettered as unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opentelemetry.trace import TracerProvider

from productstore_common.cassandra import CassandraSession
from productstore_common.events import (
    ConsumerConfig,
    ConsumerMetrics,
    EventRegistry,
    Handler,
    IdempotentConsumer,
)


@dataclass(frozen=True)
class Feed:
    """One topic the catalog follows: who reads it, what it handles and how."""

    topic: str
    group_id: str
    registry: EventRegistry
    handles: Sequence[str]
    handler: Handler


def versioned_feed(
    db: CassandraSession,
    feed: Feed,
    *,
    bootstrap_servers: str | Sequence[str],
    metrics: ConsumerMetrics | None = None,
    tracer_provider: TracerProvider | None = None,
) -> IdempotentConsumer:
    return IdempotentConsumer(
        db,
        bootstrap_servers=bootstrap_servers,
        group_id=feed.group_id,
        topics=[feed.topic],
        registry=feed.registry,
        handler=feed.handler,
        config=ConsumerConfig(auto_offset_reset="earliest", dedupe=False),
        handles=list(feed.handles),
        metrics=metrics,
        tracer_provider=tracer_provider,
    )
