"""SMS and Web Push: the same claim per (event, recipient, channel) as e-mail, then
rounds over the channel's providers with backoff, then a dead letter.

- **SMS** (delivery updates only, to a user who gave a phone and opted in) goes
  through an ordered chain of SMS providers, each behind a circuit breaker (the
  e-mail chain's `FailoverChain`). The claim's key is the provider's reference too.
- **Push** goes to every subscription of the user. A subscription is bound to one
  push service, so there is no second provider to fail over to: each push service
  (by origin) has a circuit breaker, and the rounds retry the subscriptions that
  failed. A 404/410 deletes the subscription (the browser unsubscribed).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from productstore_common.events import Backoff
from productstore_notifications.app.data.devices import DeviceStore
from productstore_notifications.app.data.sms import Sms
from productstore_notifications.app.data.store import (
    DeadLetter,
    NotificationStore,
    PreferencesRecord,
)
from productstore_notifications.app.data.webpush import PushResult, Subscription, WebPushSender
from productstore_notifications.app.models import SMS_TOPICS, Channel, Locale, Topic
from productstore_notifications.app.services.providers import (
    Attempt,
    CircuitBreaker,
    FailoverChain,
    send_in_rounds,
)
from productstore_notifications.app.services.rendering import Facts, Short, render_short

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rounds:
    rounds: int
    initial_seconds: float
    max_seconds: float
    breaker_failures: int
    breaker_reset_seconds: float


@dataclass(frozen=True)
class ShortMessage:
    event_id: uuid.UUID
    topic: Topic
    user_id: uuid.UUID
    locale: Locale
    short: Short

    @property
    def recipient(self) -> str:
        return str(self.user_id)


class MobileChannels:
    def __init__(  # noqa: PLR0917 - the channels' parts, wired once by main
        self,
        store: NotificationStore,
        devices: DeviceStore,
        sms: FailoverChain[Sms] | None,
        push: WebPushSender | None,
        rounds: Rounds,
        owner: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.devices = devices
        self.sms = sms
        self.push = push
        self.rounds = rounds
        self.owner = owner
        self.clock = clock
        self.push_breakers: dict[str, CircuitBreaker] = {}

    async def notify(
        self,
        event_id: uuid.UUID,
        topic: Topic,
        user_id: uuid.UUID,
        preferences: PreferencesRecord,
        facts: Facts,
    ) -> dict[Channel, str]:
        """Each mobile channel's outcome; a channel with nowhere to send is left out."""
        locale: Locale = "ru" if preferences.locale == "ru" else "en"
        message = ShortMessage(event_id, topic, user_id, locale, render_short(topic, facts, locale))
        outcomes: dict[Channel, str] = {}
        work = {}
        # Only to a phone the user proved they hold (a code sent to it came back).
        phone = preferences.verified_phone
        wants_sms = topic in SMS_TOPICS and preferences.sms_opt_in and bool(phone)
        if wants_sms and self.sms is None:
            # Not configured here (no providers or no key, ADR 0039): said once at start.
            _logger.info(
                "SMS is not configured: %s of event %s is not sent by SMS", topic, event_id
            )
        elif topic in SMS_TOPICS and preferences.sms_opt_in and phone is None:
            _logger.info(
                "%s of event %s: the user's phone is not verified, no SMS", topic, event_id
            )
        if self.sms is not None and wants_sms and phone:
            if f"{topic}:sms" in preferences.opt_outs:
                outcomes["sms"] = "skipped"
            else:
                work["sms"] = self._sms(self.sms, message, phone)
        if self.push is not None:
            if f"{topic}:push" in preferences.opt_outs:
                outcomes["push"] = "skipped"
            elif subscriptions := await self.devices.of(user_id):
                work["push"] = self._push(self.push, message, subscriptions)
        # Concurrently: a slow SMS provider does not hold the push back.
        for channel, outcome in zip(work, await asyncio.gather(*work.values()), strict=True):
            outcomes[channel] = outcome  # type: ignore[index]  # keys are channels
        return outcomes

    # --- SMS -------------------------------------------------------------------
    async def _sms(self, chain: FailoverChain[Sms], message: ShortMessage, phone: str) -> str:
        if not await self._claim(message, "sms"):
            return "duplicate"
        return await self._sms_rounds(chain, message, phone)

    async def _sms_rounds(
        self, chain: FailoverChain[Sms], message: ShortMessage, phone: str
    ) -> str:
        reference = f"{message.event_id}:{message.recipient}:sms"

        async def log(attempt: int, tried: Attempt) -> None:
            outcome = "sent" if tried.ok else "failed"
            await self._log(
                message, "sms", attempt, tried.provider, outcome, tried.latency_ms, tried.error
            )

        result = await send_in_rounds(
            chain,
            Sms(to=phone, body=message.short.text, reference=reference),
            rounds=self.rounds.rounds,
            backoff=Backoff(self.rounds.initial_seconds, self.rounds.max_seconds),
            log=log,
            all_open="every SMS provider's circuit breaker is open",
        )
        if result.sent_by is not None:
            await self._settle(message, "sms", "sent")
            return "sent"
        return await self._dead_letter(message, "sms", result.attempts, result.last_error)

    # --- push ------------------------------------------------------------------
    async def _push(
        self, sender: WebPushSender, message: ShortMessage, subscriptions: list[Subscription]
    ) -> str:
        if not await self._claim(message, "push"):
            return "duplicate"
        return await self._push_rounds(sender, message, subscriptions)

    async def _push_rounds(
        self, sender: WebPushSender, message: ShortMessage, subscriptions: list[Subscription]
    ) -> str:
        payload = {
            "title": message.short.title,
            "body": message.short.text,
            "topic": message.topic,
            "event_id": str(message.event_id),
            "lang": message.locale,
        }
        backoff = Backoff(self.rounds.initial_seconds, self.rounds.max_seconds)
        attempt, last_error, sent = 0, "not tried", 0
        pending = subscriptions
        for round_ in range(1, self.rounds.rounds + 1):
            results = await asyncio.gather(
                *(self._push_one(sender, s, payload, message) for s in pending)
            )
            failed = []
            for subscription, (result, latency_ms) in zip(pending, results, strict=True):
                attempt += 1
                provider = f"push:{_origin(subscription.endpoint)}"
                if result.outcome == "gone":
                    await self.devices.remove(message.user_id, subscription.endpoint)
                    error = f"{result.status}: the subscription is gone; removed"
                    await self._log(message, "push", attempt, provider, "failed", latency_ms, error)
                    continue
                await self._log(
                    message, "push", attempt, provider, result.outcome, latency_ms, result.error
                )
                if result.outcome == "sent":
                    sent += 1
                else:
                    failed.append(subscription)
                    last_error = result.error or last_error
            pending = failed
            if not pending:
                break
            if round_ < self.rounds.rounds:
                await asyncio.sleep(backoff.next_delay())
        if sent:
            await self._settle(message, "push", "sent")
            return "sent"
        if not pending:
            await self._settle(message, "push", "skipped")
            return "gone"
        return await self._dead_letter(message, "push", attempt, last_error)

    async def _push_one(
        self,
        sender: WebPushSender,
        subscription: Subscription,
        payload: dict[str, str],
        message: ShortMessage,
    ) -> tuple[PushResult, float]:
        origin = _origin(subscription.endpoint)
        breaker = self.push_breakers.setdefault(
            origin,
            CircuitBreaker(
                failures=self.rounds.breaker_failures,
                reset_seconds=self.rounds.breaker_reset_seconds,
            ),
        )
        if not breaker.allow():
            return PushResult("failed", None, f"{origin}'s circuit breaker is open"), 0.0
        started = asyncio.get_running_loop().time()
        result = await sender.push(subscription, payload, topic=message.topic.replace("_", "-"))
        latency_ms = round((asyncio.get_running_loop().time() - started) * 1000, 3)
        # A gone subscription is the browser's doing, not the push service failing.
        if result.outcome == "failed":
            breaker.failed()
        else:
            breaker.succeeded()
        return result, latency_ms

    # --- replay ----------------------------------------------------------------
    async def replay(self, event_id: uuid.UUID, recipient: str, channel: Channel) -> str:
        """Send a dead-lettered SMS or push again, its text as it was rendered, to the
        phone or subscriptions the user has now: `sent`, `dead_lettered`, `no_address`
        (no phone or no SMS consent any more), `gone` (no subscription left), or
        `not_found`, `busy`, `not_configured` (the channel is off in this process)."""
        sms, push = self.sms, self.push
        if channel not in {"sms", "push"}:
            return "not_found"
        if (channel == "sms" and sms is None) or (channel == "push" and push is None):
            return "not_configured"
        letter = await self.store.dead_letter_of(event_id, recipient, channel)
        if letter is None or letter.user_id is None:
            return "not_found"
        if not await self.store.reclaim(event_id, recipient, channel, self.owner, self.clock()):
            return "busy"
        message = ShortMessage(
            event_id,
            letter.topic,  # type: ignore[arg-type]  # written from a Topic
            letter.user_id,
            "ru" if letter.locale == "ru" else "en",
            Short(title=letter.subject, text=letter.text),
        )
        outcome: str
        if sms is not None and channel == "sms":
            preferences = await self.store.preferences(letter.user_id)
            if (phone := preferences.verified_phone) and preferences.sms_opt_in:
                outcome = await self._sms_rounds(sms, message, phone)
            else:
                outcome = "no_address"
        elif push is not None:
            subscriptions = await self.devices.of(letter.user_id)
            outcome = (
                await self._push_rounds(push, message, subscriptions) if subscriptions else "gone"
            )
        if outcome in {"no_address", "gone"}:
            # Nowhere to send it any more: settled, not a dead letter to replay again.
            await self._settle(message, channel, "skipped")
        if outcome != "dead_lettered":
            await self.store.forget_dead_letter(event_id, recipient, channel)
        return outcome

    # --- shared ----------------------------------------------------------------
    async def _claim(self, message: ShortMessage, channel: Channel) -> bool:
        return await self.store.claim(
            message.event_id, message.recipient, channel, self.owner, self.clock()
        )

    async def _settle(self, message: ShortMessage, channel: Channel, status: str) -> None:
        await self.store.settle(message.event_id, message.recipient, channel, status, self.clock())

    async def _dead_letter(
        self, message: ShortMessage, channel: Channel, attempts: int, last_error: str
    ) -> str:
        now = self.clock()
        await self.store.dead_letter(
            DeadLetter(
                event_id=message.event_id,
                recipient=message.recipient,
                channel=channel,
                topic=message.topic,
                user_id=message.user_id,
                locale=message.locale,
                subject=message.short.title,
                text=message.short.text,
                html="",
                attempts=attempts,
                last_error=last_error,
                failed_at=now,
            )
        )
        await self._log(message, channel, attempts, "-", "dead_lettered", error=last_error)
        await self.store.settle(message.event_id, message.recipient, channel, "dead_lettered", now)
        return "dead_lettered"

    async def _log(  # noqa: PLR0917 - one delivery log row
        self,
        message: ShortMessage,
        channel: Channel,
        attempt: int,
        provider: str,
        outcome: str,
        latency_ms: float = 0.0,
        error: str | None = None,
    ) -> None:
        await self.store.log_attempt(
            message.event_id,
            message.recipient,
            channel,
            message.topic,
            at=self.clock(),
            attempt=attempt,
            provider=provider,
            outcome=outcome,
            latency_ms=latency_ms,
            error=error,
        )


def _origin(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"
