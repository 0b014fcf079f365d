"""A test module's topic read from its start: every event checked against its
published schema and decoded with the contract's classes (an event that does not
validate fails the test), the raw records kept for the recorded-example checks."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]

from devstack.components.kafka import Kafka
from productstore_common.events import CloudEvent, EventPayload, EventRegistry
from tests.support.contracts import check_published

DEADLINE_SECONDS = 60.0

Events = list[CloudEvent[Any]]


class TopicLog:
    def __init__(
        self,
        kafka: Kafka,
        topic: str,
        payloads: Sequence[type[EventPayload]],
        *,
        name: str,
        deadline: float = DEADLINE_SECONDS,
    ) -> None:
        self.registry = EventRegistry(payloads)
        self.events: Events = []
        self.raw: list[bytes] = []
        self._name = name
        self._deadline = deadline
        self._reader = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka.bootstrap_servers,
            group_id=f"{name}-log-{uuid.uuid4().hex[:12]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )

    async def start(self) -> None:
        await self._reader.start()

    async def stop(self) -> None:
        await self._reader.stop()

    async def poll(self, seconds: float = 0.3) -> None:
        batches = await self._reader.getmany(timeout_ms=int(seconds * 1000))
        for records in batches.values():
            for record in records:
                check_published(record.value)
                self.raw.append(record.value)
                self.events.append(self.registry.decode(record.value))

    async def wait_for(
        self, predicate: Callable[[Events], bool], what: str, timeout: float | None = None
    ) -> Events:
        deadline = time.monotonic() + (self._deadline if timeout is None else timeout)
        while not predicate(self.events):
            assert time.monotonic() < deadline, f"no {what} in {len(self.events)} events"
            await self.poll()
            await asyncio.sleep(0)
        return self.events

    async def settle(self, seconds: float) -> Events:
        """Everything that arrives within `seconds` (to show something did not happen)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await self.poll(0.2)
        return self.events

    def of(self, subject: object, kind: type[Any] | None = None) -> list[Any]:
        """The payloads about `subject` (of `kind`, when given)."""
        return [
            event.data
            for event in self.events
            if event.subject == str(subject) and (kind is None or isinstance(event.data, kind))
        ]
