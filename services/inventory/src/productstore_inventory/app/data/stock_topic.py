"""A replica's own read of the inventory topic, for the stock stream: a Kafka consumer
without a group, so it is given every partition, commits nothing, and starts at the
end (or where the caller says). The feed (services.stream) decides what to do with
the records; this module is the only one of the stream that talks to Kafka."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Final

from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]

from productstore_common.events.kafka import bootstrap

_ASSIGN_SECONDS: Final = 30.0


@dataclass(frozen=True)
class TopicRecord:
    partition: int
    offset: int
    value: bytes | None


class TopicTail:
    def __init__(self, bootstrap_servers: str | list[str], topic: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self._consumer: Any = None

    async def open(self, positions: dict[int, int]) -> dict[int, int]:
        """Connect; partitions in `positions` are read from there, the others from
        their end. Returns where each partition starts."""
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=bootstrap(self.bootstrap_servers),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            client_id="inventory-stock-feed",
        )
        await consumer.start()
        try:
            starts = await self._position(consumer, positions)
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        return starts

    async def _position(self, consumer: Any, positions: dict[int, int]) -> dict[int, int]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _ASSIGN_SECONDS
        while not consumer.assignment():
            if loop.time() > deadline:
                raise TimeoutError(f"no partitions of {self.topic} assigned (not created?)")
            await asyncio.sleep(0.1)
        starts: dict[int, int] = {}
        for tp in sorted(consumer.assignment(), key=lambda tp: tp.partition):
            if tp.partition in positions:
                consumer.seek(tp, positions[tp.partition])
                starts[tp.partition] = positions[tp.partition]
            else:
                starts[tp.partition] = await consumer.position(tp)
        return starts

    async def read(self, timeout_ms: int = 500, max_records: int = 500) -> list[TopicRecord]:
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        return [
            TopicRecord(record.partition, record.offset, record.value)
            for records in batches.values()
            for record in records
        ]

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()
