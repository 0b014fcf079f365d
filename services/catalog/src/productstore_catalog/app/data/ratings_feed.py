"""The reviews service's events, consumed for the products' rating.

One consumer group for the whole service, like the stock feed: an event is applied
once, by whichever replica holds its partition, as a product write whose own event
brings every replica's index along. The handler is idempotent (each review's newest
state by version, the rating computed from all of them), so no dedupe store.
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
from productstore_contracts.events.reviews import REVIEW_EVENTS, ReviewPublished, ReviewRemoved


def ratings_registry() -> EventRegistry:
    """Every type of the reviews topic."""
    return EventRegistry(REVIEW_EVENTS)


def ratings_feed(
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
        registry=ratings_registry(),
        handler=handler,
        # Each review's state is kept by version (USING TIMESTAMP) and the rating is
        # computed from all of them: a redelivery changes nothing, so no dedupe store.
        config=ConsumerConfig(auto_offset_reset="earliest", dedupe=False),
        handles=[ReviewPublished.event_type, ReviewRemoved.event_type],
        metrics=metrics,
        tracer_provider=tracer_provider,
    )
