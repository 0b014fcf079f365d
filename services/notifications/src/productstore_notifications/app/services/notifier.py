"""Order events and wishlist notices become messages: one per (event, recipient, channel),
claimed before sent.

The claim is an LWT insert (`delivery_claims ... IF NOT EXISTS`). Whoever makes it
sends; a redelivered event, a second replica, or this process after a restart finds
it and sends nothing. A process that dies between its claim and the provider's
answer leaves the claim `claimed`: that message is not sent again (at most once),
and the row tells an admin which one to look at. The claim holder retries: a round
over the provider chain, backoff, another round; after the last, a dead-letter record.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from prometheus_client import Counter, Histogram

from productstore_common.events import Backoff, CloudEvent, EventRegistry
from productstore_common.telemetry.metrics import AppMetrics
from productstore_contracts.events.inventory import INVENTORY_EVENTS
from productstore_contracts.events.orders import (
    ORDER_EVENTS,
    OrderCancelled,
    OrderDelivered,
    OrderExpired,
    OrderFulfilled,
    OrderPaid,
    OrderPlaced,
)
from productstore_contracts.events.reviews import REVIEW_EVENTS, ReviewModerated
from productstore_contracts.events.wishlist import (
    WISHLIST_EVENTS,
    WishlistBackInStock,
    WishlistPriceDropped,
)
from productstore_notifications.app.data.catalog import ProductNames
from productstore_notifications.app.data.contacts import AuthContacts, ContactsUnavailableError
from productstore_notifications.app.data.store import (
    DeadLetter,
    NotificationStore,
    OrderOwner,
    PreferencesRecord,
)
from productstore_notifications.app.models import PROMOTIONAL, Channel, Locale, Topic
from productstore_notifications.app.services.mobile import MobileChannels
from productstore_notifications.app.services.providers import FailoverChain
from productstore_notifications.app.services.rendering import (
    Facts,
    OrderFacts,
    ProductFacts,
    Rendered,
    ReviewFacts,
    render,
)
from productstore_notifications.app.services.unsubscribe import UnsubscribeLinks

_logger = logging.getLogger(__name__)

# RFC 5322's line limit: the default 78 would RFC 2047-encode a long List-Unsubscribe
# URL (it has no whitespace to fold at), and mail clients would not find the link.
MAIL_POLICY = policy.default.clone(max_line_length=998)

# The events that become messages; the others (OrderReserved) are decoded and
# committed without a claim. Every topic has e-mail and in-app templates; SMS and push
# texts are in templates/short.<locale>.toml (services/mobile).
HANDLED: tuple[str, ...] = tuple(
    kind.event_type
    for kind in (
        OrderPlaced,
        OrderPaid,
        OrderCancelled,
        OrderExpired,
        OrderFulfilled,
        OrderDelivered,
        WishlistPriceDropped,
        WishlistBackInStock,
        ReviewModerated,
    )
)


def events_registry() -> EventRegistry:
    """The order events, the wishlist's notices, inventory's and the reviews' (one
    consumer reads the four topics; of inventory's only the stock crossings are
    handled, of the reviews' only the moderation outcomes)."""
    return EventRegistry((*ORDER_EVENTS, *WISHLIST_EVENTS, *INVENTORY_EVENTS, *REVIEW_EVENTS))


@dataclass(frozen=True)
class NotifierMetrics:
    deliveries: Counter
    latency: Histogram

    @classmethod
    def of(cls, metrics: AppMetrics) -> NotifierMetrics:
        return cls(
            deliveries=metrics.counter(
                "notifications_deliveries_total",
                "Messages by channel and final outcome (sent, skipped, duplicate, "
                "dead_lettered, no_address).",
                ("channel", "outcome"),
            ),
            latency=metrics.histogram(
                "notifications_provider_seconds",
                "Time a provider took to accept or refuse one message.",
                ("provider",),
            ),
        )


@dataclass(frozen=True)
class Retry:
    rounds: int
    initial_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class Message:
    event_id: uuid.UUID
    topic: Topic
    user_id: uuid.UUID
    locale: Locale
    rendered: Rendered
    unsubscribe_url: str | None = None


class Notifier:
    def __init__(
        self,
        store: NotificationStore,
        contacts: AuthContacts,
        chain: FailoverChain[EmailMessage],
        metrics: NotifierMetrics,
        *,
        mail_from: str,
        retry: Retry,
        owner: str,
        unsubscribe: UnsubscribeLinks,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        mobile: MobileChannels | None = None,
        names: ProductNames | None = None,
    ) -> None:
        self.mobile = mobile
        self.names = names
        self.store = store
        self.contacts = contacts
        self.chain = chain
        self.metrics = metrics
        self.mail_from = mail_from
        self.retry = retry
        self.owner = owner
        self.unsubscribe = unsubscribe
        self.clock = clock

    # --- events ------------------------------------------------------------------
    async def handle(self, event: CloudEvent[Any]) -> None:
        """The IdempotentConsumer's handler: the messages one event asks for."""
        found = await self._facts(event)
        if found is None:
            return
        topic, user_id, facts = found
        await self.notify(event.id, topic, user_id, facts)

    async def _facts(self, event: CloudEvent[Any]) -> tuple[Topic, uuid.UUID, Facts] | None:
        data = event.data
        match data:
            case OrderPlaced():
                owner = OrderOwner(user_id=data.user_id, total=data.total, currency=data.currency)
                await self.store.remember_order(data.order_id, owner, event.time)
                return "order_placed", owner.user_id, self._order(data.order_id, event, owner)
            case WishlistPriceDropped() | WishlistBackInStock() | ReviewModerated():
                # They name the product by id; the catalog names it for people.
                name = await self.names.name(data.product_id) if self.names else None
                return (
                    self._review(data, event, name)
                    if isinstance(data, ReviewModerated)
                    else self._notice(data, event, name)
                )
            case OrderFulfilled() | OrderDelivered():
                # They name the owner; the total is known when this service saw the order placed.
                topic_of: Topic = (
                    "order_fulfilled" if isinstance(data, OrderFulfilled) else "order_delivered"
                )
                known = await self.store.order_owner(data.order_id)
                owner = OrderOwner(
                    user_id=data.user_id,
                    total=known.total if known else None,
                    currency=known.currency if known else None,
                )
                return topic_of, data.user_id, self._order(data.order_id, event, owner)
        topic: Topic
        reason: str | None = None
        refunded = False
        match data:
            case OrderPaid():
                topic = "order_paid"
            case OrderCancelled():
                topic, reason, refunded = "order_cancelled", data.reason, data.paid
            case OrderExpired():
                topic = "order_expired"
            case _:
                return None
        known = await self.store.order_owner(data.order_id)
        if known is None:
            # Placed before this service read the topic: nobody to address.
            _logger.warning(
                "order event for an order never seen placed",
                extra={"event_type": event.type, "order_id": str(data.order_id)},
            )
            return None
        facts = self._order(data.order_id, event, known, reason=reason, refunded=refunded)
        return topic, known.user_id, facts

    @staticmethod
    def _review(
        data: ReviewModerated, event: CloudEvent[Any], name: str | None
    ) -> tuple[Topic, uuid.UUID, Facts]:
        review = ReviewFacts(
            product_id=str(data.product_id), at=event.time, name=name, reasons=tuple(data.reasons)
        )
        topic: Topic = "review_approved" if data.outcome == "approved" else "review_rejected"
        return topic, data.user_id, review

    @staticmethod
    def _notice(
        data: WishlistPriceDropped | WishlistBackInStock,
        event: CloudEvent[Any],
        name: str | None,
    ) -> tuple[Topic, uuid.UUID, Facts]:
        if isinstance(data, WishlistPriceDropped):
            drop = ProductFacts(
                product_id=str(data.product_id),
                at=event.time,
                name=name,
                old_price=data.old_price,
                new_price=data.new_price,
                currency=data.currency,
            )
            return "price_drop", data.user_id, drop
        back = ProductFacts(
            product_id=str(data.product_id), at=event.time, name=name, available=data.available
        )
        return "back_in_stock", data.user_id, back

    @staticmethod
    def _order(
        order_id: uuid.UUID,
        event: CloudEvent[Any],
        owner: OrderOwner,
        *,
        reason: str | None = None,
        refunded: bool = False,
    ) -> OrderFacts:
        return OrderFacts(
            order_id=str(order_id),
            at=event.time,
            total=owner.total,
            currency=owner.currency,
            reason=reason,
            refunded=refunded,
        )

    # --- messages ----------------------------------------------------------------
    async def notify(
        self,
        event_id: uuid.UUID,
        topic: Topic,
        user_id: uuid.UUID,
        facts: Facts,
        *,
        preferences: PreferencesRecord | None = None,
    ) -> dict[Channel, str]:
        """Every channel's outcome for this user (in the user's locale and opt-outs;
        `preferences` when the caller read them already)."""
        if preferences is None:
            preferences = await self.store.preferences(user_id)
        locale: Locale = "ru" if preferences.locale == "ru" else "en"
        # SMS and push run beside e-mail: a slow SMTP server does not delay them.
        mobile = (
            self.mobile.notify(event_id, topic, user_id, preferences, facts)
            if self.mobile is not None
            else _nothing()
        )
        outcomes, mobile_outcomes = await asyncio.gather(
            self._mail_and_inbox(event_id, topic, user_id, preferences, locale, facts), mobile
        )
        for channel, outcome in mobile_outcomes.items():
            self.metrics.deliveries.labels(channel, outcome).inc()
        return {**outcomes, **mobile_outcomes}

    async def _mail_and_inbox(  # noqa: PLR0917 - notify's facts
        self,
        event_id: uuid.UUID,
        topic: Topic,
        user_id: uuid.UUID,
        preferences: PreferencesRecord,
        locale: Locale,
        facts: Facts,
    ) -> dict[Channel, str]:
        unsubscribe_url = (
            self.unsubscribe.url(user_id, topic, "email") if topic in PROMOTIONAL else None
        )
        rendered = render(topic, facts, locale, unsubscribe_url=unsubscribe_url)
        message = Message(event_id, topic, user_id, locale, rendered, unsubscribe_url)
        outcomes: dict[Channel, str] = {}
        channel: Channel
        for channel in ("inapp", "email"):
            if f"{topic}:{channel}" in preferences.opt_outs:
                outcomes[channel] = "skipped"
            else:
                outcomes[channel] = await self._deliver(message, channel)
            self.metrics.deliveries.labels(channel, outcomes[channel]).inc()
        return outcomes

    async def _deliver(self, message: Message, channel: Channel) -> str:
        recipient = str(message.user_id)
        if not await self.store.claim(
            message.event_id, recipient, channel, self.owner, self.clock()
        ):
            return "duplicate"
        if channel == "inapp":
            started = self.clock()
            await self.store.add_to_inbox(
                message.user_id,
                message.topic,
                message.rendered.subject,
                message.rendered.summary,
                started,
            )
            await self._log(message, channel, attempt=1, provider="inapp", outcome="sent")
            await self.store.settle(message.event_id, recipient, channel, "sent", self.clock())
            return "sent"
        return await self._email(message)

    async def _email(self, message: Message) -> str:
        recipient = str(message.user_id)
        backoff = Backoff(self.retry.initial_seconds, self.retry.max_seconds)
        attempt = 0
        last_error = "not tried"
        for round_ in range(1, self.retry.rounds + 1):
            try:
                contact = await self.contacts.contact(message.user_id)
            except ContactsUnavailableError as exc:
                attempt += 1
                last_error = str(exc)
                await self._log(
                    message,
                    "email",
                    attempt=attempt,
                    provider="auth",
                    outcome="failed",
                    error=last_error,
                )
            else:
                if contact is None:
                    await self._log(
                        message,
                        "email",
                        attempt=attempt + 1,
                        provider="auth",
                        outcome="skipped",
                        error="no such user, or disabled",
                    )
                    await self.store.settle(
                        message.event_id, recipient, "email", "skipped", self.clock()
                    )
                    return "no_address"
                result = await self.chain.send(
                    self._email_message(message, contact.email, contact.name)
                )
                if not result.attempts:
                    attempt += 1
                    last_error = "every provider's circuit breaker is open"
                    await self._log(
                        message,
                        "email",
                        attempt=attempt,
                        provider="-",
                        outcome="failed",
                        error=last_error,
                    )
                for tried in result.attempts:
                    attempt += 1
                    self.metrics.latency.labels(tried.provider).observe(tried.latency_ms / 1000)
                    outcome = "sent" if tried.ok else "failed"
                    await self._log(
                        message,
                        "email",
                        attempt=attempt,
                        provider=tried.provider,
                        outcome=outcome,
                        latency_ms=tried.latency_ms,
                        error=tried.error,
                    )
                    last_error = tried.error or last_error
                if result.sent_by is not None:
                    await self.store.settle(
                        message.event_id, recipient, "email", "sent", self.clock()
                    )
                    return "sent"
            if round_ < self.retry.rounds:
                await asyncio.sleep(backoff.next_delay())
        now = self.clock()
        await self.store.dead_letter(
            DeadLetter(
                event_id=message.event_id,
                recipient=recipient,
                channel="email",
                topic=message.topic,
                user_id=message.user_id,
                locale=message.locale,
                subject=message.rendered.subject,
                text=message.rendered.text,
                html=message.rendered.html,
                attempts=attempt,
                last_error=last_error,
                failed_at=now,
            )
        )
        await self._log(
            message,
            "email",
            attempt=attempt,
            provider="-",
            outcome="dead_lettered",
            error=last_error,
        )
        await self.store.settle(message.event_id, recipient, "email", "dead_lettered", now)
        _logger.error(
            "e-mail dead-lettered",
            extra={"event_id": str(message.event_id), "attempts": attempt, "error": last_error},
        )
        return "dead_lettered"

    async def replay(self, event_id: uuid.UUID, recipient: str) -> str:
        """Send a dead-lettered e-mail again, as it was rendered: its outcome, or
        `not_found` (no such dead letter), `busy` (someone is replaying it)."""
        letter = await self.store.dead_letter_of(event_id, recipient, "email")
        if letter is None or letter.user_id is None:
            return "not_found"
        if not await self.store.reclaim(event_id, recipient, "email", self.owner, self.clock()):
            return "busy"
        locale: Locale = "ru" if letter.locale == "ru" else "en"
        topic: Topic = letter.topic  # type: ignore[assignment]  # written from a Topic
        rendered = Rendered(letter.subject, letter.text, letter.html, summary="")
        # The body keeps the link it was rendered with; the headers get a fresh one.
        unsubscribe_url = (
            self.unsubscribe.url(letter.user_id, topic, "email") if topic in PROMOTIONAL else None
        )
        outcome = await self._email(
            Message(event_id, topic, letter.user_id, locale, rendered, unsubscribe_url)
        )
        if outcome == "sent":
            await self.store.forget_dead_letter(event_id, recipient, "email")
        self.metrics.deliveries.labels("email", f"replay_{outcome}").inc()
        return outcome

    def _email_message(self, message: Message, address: str, name: str) -> EmailMessage:
        email = EmailMessage(policy=MAIL_POLICY)
        email["From"] = self.mail_from
        email["To"] = formataddr((name, address))
        email["Subject"] = message.rendered.subject
        email["Date"] = format_datetime(self.clock())
        # The same id for the same (event, recipient): a provider or mail server that
        # dedupes by Message-ID sees one message even if two ever left.
        email["Message-ID"] = f"<{message.event_id}.{message.user_id}@productstore.local>"
        email["Content-Language"] = message.locale
        email["X-Productstore-Topic"] = message.topic
        if message.unsubscribe_url is not None:
            # RFC 8058 one-click: the mail client POSTs "List-Unsubscribe=One-Click" to it.
            email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email.set_content(message.rendered.text)
        email.add_alternative(message.rendered.html, subtype="html")
        return email

    async def _log(
        self,
        message: Message,
        channel: Channel,
        *,
        attempt: int,
        provider: str,
        outcome: str,
        latency_ms: float = 0.0,
        error: str | None = None,
    ) -> None:
        await self.store.log_attempt(
            message.event_id,
            str(message.user_id),
            channel,
            message.topic,
            at=self.clock(),
            attempt=attempt,
            provider=provider,
            outcome=outcome,
            latency_ms=latency_ms,
            error=error,
        )


async def _nothing() -> dict[Channel, str]:
    return {}
