"""The product events that keep a replica's search index current.

Each replica consumes the events topic in a consumer group of its own, so every
replica sees every event (a shared group would split them). The group starts at
the end of the topic: the index is loaded from Cassandra after the consumer is
positioned, so every write after that position arrives as an event and every
write before it is in the load.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Sequence

from productstore_common.cassandra import CassandraSession
from productstore_common.events import (
    ConsumerConfig,
    ConsumerMetrics,
    EventRegistry,
    Handler,
    IdempotentConsumer,
)
from productstore_contracts.events.catalog import PRODUCT_EVENTS

# The consumer polls this often for its partition assignment at start-up.
_ASSIGNMENT_POLL_SECONDS = 0.1


def replica_group(prefix: str) -> str:
    """A consumer group name no other replica (or restart) uses."""
    host = socket.gethostname().split(".")[0][:40] or "host"
    return f"{prefix}-{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class SearchFeed(IdempotentConsumer):
    """An IdempotentConsumer that starts at the topic's end and says when it is there."""

    def __init__(
        self,
        db: CassandraSession,
        *,
        bootstrap_servers: str | Sequence[str],
        group_id: str,
        topic: str,
        handler: Handler,
        metrics: ConsumerMetrics | None = None,
    ) -> None:
        super().__init__(
            db,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            topics=[topic],
            registry=EventRegistry(PRODUCT_EVENTS),
            handler=handler,
            # A new group reads from the end: what came before is in the start-up load.
            config=ConsumerConfig(auto_offset_reset="latest"),
            metrics=metrics,
        )
        self.positioned = asyncio.Event()

    async def _connect(self) -> None:
        await super()._connect()
        consumer = self._consumer
        # The group join runs in the background; the offsets of a new group are
        # resolved ("latest") at the first position() of each partition.
        while not consumer.assignment():
            if self._stop.is_set():
                return
            await asyncio.sleep(_ASSIGNMENT_POLL_SECONDS)
        for partition in consumer.assignment():
            await consumer.position(partition)
        self.positioned.set()
