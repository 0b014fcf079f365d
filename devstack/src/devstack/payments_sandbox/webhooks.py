"""Signed webhook delivery with bounded retries.

Each event goes to every endpoint as a POST of its JSON with the header
``Payments-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``,
signed afresh on every attempt (so a retry's timestamp is current). A non-2xx
answer or a connection error is retried after ``backoff * 2**(n-1)`` seconds
(capped), up to ``max_attempts`` attempts; then the delivery is marked failed.
Every attempt is recorded on the event (``GET /v1/events``), so a receiver that
was down can reconcile by listing events.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from devstack.payments_sandbox.config import Config

SIGNATURE_HEADER = "Payments-Signature"
_logger = logging.getLogger(__name__)


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass
class Delivery:
    endpoint_id: str
    url: str
    status: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint_id": self.endpoint_id,
            "url": self.url,
            "status": self.status,
            "attempts": self.attempts,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
        }


@dataclass
class Event:
    id: str
    type: str
    created: int
    payment_id: str
    data: dict[str, Any]
    deliveries: list[Delivery] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "event",
            "type": self.type,
            "created": self.created,
            "data": {"object": self.data},
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.payload(), "deliveries": [d.to_dict() for d in self.deliveries]}


class Deliverer:
    """Runs one task per (event, endpoint); `close` cancels what is still retrying."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.client = httpx.AsyncClient(timeout=config.webhook_timeout_seconds)
        self.tasks: set[asyncio.Task[None]] = set()

    def send(self, event: Event, delivery: Delivery) -> None:
        task = asyncio.create_task(self._deliver(event, delivery))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, event: Event, delivery: Delivery) -> None:
        body = json.dumps(event.payload(), separators=(",", ":")).encode()
        config = self.config
        while delivery.attempts < config.webhook_max_attempts:
            if delivery.attempts:
                await asyncio.sleep(
                    min(
                        config.webhook_backoff_seconds * 2 ** (delivery.attempts - 1),
                        config.webhook_backoff_cap,
                    )
                )
            delivery.attempts += 1
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(config.webhook_secret, int(time.time()), body),
            }
            try:
                response = await self.client.post(delivery.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                delivery.last_status_code = None
                delivery.last_error = f"{type(exc).__name__}: {exc}"
            else:
                delivery.last_status_code = response.status_code
                delivery.last_error = None
                if response.is_success:
                    delivery.status = "delivered"
                    return
        delivery.status = "failed"
        _logger.warning(
            "event %s to %s failed after %d attempts", event.id, delivery.url, delivery.attempts
        )

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()
