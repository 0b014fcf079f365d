"""Stock crossings to the store's admins: one chat message per LowStock (and per
BackInStock, as "stock recovered") from inventory.

Inventory publishes each crossing once (not on every sale), with an id derived from the
stock version, so a republished crossing has the same id. The message is claimed like a
user's, (event id, `admins`, `chat`), then goes through the chat failover chain (the
Slack webhook, then the Telegram bot, each behind a circuit breaker): one message per
crossing, in the first chat that takes it. Rounds with backoff, every attempt in the
delivery log, a dead letter after the last round.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from productstore_common.events import Backoff, CloudEvent
from productstore_contracts.events.inventory import BackInStock, LowStock
from productstore_notifications.app.data.catalog import ProductNames
from productstore_notifications.app.data.chat import ChatMessage
from productstore_notifications.app.data.store import DeadLetter, NotificationStore
from productstore_notifications.app.models import AdminTopic, Locale
from productstore_notifications.app.services.providers import (
    Attempt,
    FailoverChain,
    send_in_rounds,
)
from productstore_notifications.app.services.rendering import StockFacts, render_admin

_logger = logging.getLogger(__name__)

# The recipient of the idempotency key (event, recipient, channel): the admins as one.
ADMINS = "admins"
STOCK_EVENTS: tuple[str, ...] = (LowStock.event_type, BackInStock.event_type)


class AdminChat:
    def __init__(
        self,
        store: NotificationStore,
        chain: FailoverChain[ChatMessage] | None,
        names: ProductNames | None,
        *,
        rounds: int,
        initial_seconds: float,
        max_seconds: float,
        owner: str,
        locale: Locale = "en",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.chain = chain
        self.names = names
        self.rounds = rounds
        self.initial_seconds = initial_seconds
        self.max_seconds = max_seconds
        self.owner = owner
        self.locale: Locale = locale
        self.clock = clock

    async def handle(self, event: CloudEvent[Any]) -> str | None:
        """The outcome for a stock crossing (None: not one, or no chat is configured)."""
        data = event.data
        if not isinstance(data, LowStock | BackInStock):
            return None
        if self.chain is None:
            # No chat configured (ADR 0039): said at start; each crossing at info.
            _logger.info("no admin chat is configured: stock crossing %s is skipped", event.id)
            return None
        topic: AdminTopic = "low_stock" if isinstance(data, LowStock) else "stock_recovered"
        name = await self.names.name(data.product_id) if self.names is not None else None
        facts = StockFacts(
            product_id=str(data.product_id),
            available=data.available,
            threshold=data.threshold,
            name=name,
        )
        return await self.send(event.id, topic, render_admin(topic, facts, self.locale))

    async def send(self, event_id: uuid.UUID, topic: AdminTopic, text: str) -> str:
        """`text` to the admins' chats once per event: `sent`, `duplicate` (claimed
        before) or `dead_lettered`."""
        assert self.chain is not None, "no chat configured"  # noqa: S101 - handle checks
        if not await self.store.claim(event_id, ADMINS, "chat", self.owner, self.clock()):
            return "duplicate"
        return await self._rounds(self.chain, event_id, topic, text)

    async def replay(self, event_id: uuid.UUID) -> str:
        """Send a dead-lettered chat message again: its outcome, or `not_found`, `busy`."""
        if self.chain is None:
            return "not_found"
        letter = await self.store.dead_letter_of(event_id, ADMINS, "chat")
        if letter is None:
            return "not_found"
        if not await self.store.reclaim(event_id, ADMINS, "chat", self.owner, self.clock()):
            return "busy"
        topic: AdminTopic = "low_stock" if letter.topic == "low_stock" else "stock_recovered"
        outcome = await self._rounds(self.chain, event_id, topic, letter.text)
        if outcome == "sent":
            await self.store.forget_dead_letter(event_id, ADMINS, "chat")
        return outcome

    async def _rounds(
        self, chain: FailoverChain[ChatMessage], event_id: uuid.UUID, topic: AdminTopic, text: str
    ) -> str:
        async def log(attempt: int, tried: Attempt) -> None:
            await self.store.log_attempt(
                event_id,
                ADMINS,
                "chat",
                topic,
                at=self.clock(),
                attempt=attempt,
                provider=tried.provider,
                outcome="sent" if tried.ok else "failed",
                latency_ms=tried.latency_ms,
                error=tried.error,
            )

        result = await send_in_rounds(
            chain,
            ChatMessage(text),
            rounds=self.rounds,
            backoff=Backoff(self.initial_seconds, self.max_seconds),
            log=log,
            all_open="every chat's circuit breaker is open",
        )
        now = self.clock()
        if result.sent_by is not None:
            await self.store.settle(event_id, ADMINS, "chat", "sent", now)
            return "sent"
        await self.store.dead_letter(
            DeadLetter(
                event_id=event_id,
                recipient=ADMINS,
                channel="chat",
                topic=topic,
                user_id=None,
                locale=self.locale,
                subject=topic,
                text=text,
                html="",
                attempts=result.attempts,
                last_error=result.last_error,
                failed_at=now,
            )
        )
        await self.store.log_attempt(
            event_id,
            ADMINS,
            "chat",
            topic,
            at=now,
            attempt=result.attempts,
            provider="-",
            outcome="dead_lettered",
            error=result.last_error,
        )
        await self.store.settle(event_id, ADMINS, "chat", "dead_lettered", now)
        _logger.error(
            "admin chat message dead-lettered",
            extra={"event_id": str(event_id), "error": result.last_error},
        )
        return "dead_lettered"
