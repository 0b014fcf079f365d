"""The notifications service's app: `create_app()` (for `uvicorn --factory ...:create_app`)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import socket
import uuid
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from productstore_common.events import (
    Backoff,
    CloudEvent,
    ConsumerConfig,
    ConsumerMetrics,
    IdempotentConsumer,
)
from productstore_common.kit import ServiceKit, service_app
from productstore_common.kit.connections import create_topics
from productstore_common.ratelimit import RateLimiter
from productstore_contracts.services import NOTIFICATIONS
from productstore_notifications import __version__
from productstore_notifications.app.api.routes import (
    broadcasts,
    devices,
    notifications,
    unsubscribe,
)
from productstore_notifications.app.core.config import (
    HANDLER_TIMEOUT_SECONDS,
    NotificationsSettings,
)
from productstore_notifications.app.data import migrations_dir
from productstore_notifications.app.data.broadcasts import BroadcastStore
from productstore_notifications.app.data.catalog import ProductNames
from productstore_notifications.app.data.chat import ChatMessage, SlackWebhook, TelegramBot
from productstore_notifications.app.data.contacts import AuthContacts
from productstore_notifications.app.data.devices import DeviceStore
from productstore_notifications.app.data.sms import Sms, SmsProvider
from productstore_notifications.app.data.smtp import SmtpProvider
from productstore_notifications.app.data.store import NotificationStore
from productstore_notifications.app.data.webpush import WebPushSender, vapid_private_key
from productstore_notifications.app.services.admin_chat import STOCK_EVENTS, AdminChat
from productstore_notifications.app.services.broadcasts import Broadcasts
from productstore_notifications.app.services.devices import Devices
from productstore_notifications.app.services.inbox import DeliveryLog, UserNotifications
from productstore_notifications.app.services.mobile import MobileChannels, Rounds
from productstore_notifications.app.services.notifier import (
    HANDLED,
    Notifier,
    NotifierMetrics,
    Retry,
    events_registry,
)
from productstore_notifications.app.services.phone import PhoneVerification
from productstore_notifications.app.services.providers import FailoverChain
from productstore_notifications.app.services.unsubscribe import UnsubscribeLinks, Unsubscribes

_logger = logging.getLogger(__name__)

DESCRIPTION = """\
Messages to users about their orders, their wishlists and the store's promotions:
e-mail (HTML and plain text, in the user's language), an in-app inbox, SMS delivery
updates (order fulfilled and delivered, to users who gave a phone and opted in) and
Web Push to the browsers a user subscribed.

Each order event on `productstore.orders`, each wishlist notice on
`productstore.wishlist` (price drop, back in stock, naming the product as the catalog
does) and each review moderation outcome on `productstore.reviews` becomes at most one
message per channel for the user it concerns, and each stock crossing on
`productstore.inventory` one message to the admins' chat (Slack, else Telegram): the
message is claimed in Cassandra (event, recipient, channel) before it is sent, so a
redelivered event sends nothing.
Administrators broadcast promotions to the users who consented; every promotional
e-mail carries a signed one-click unsubscribe link (RFC 8058). E-mail and SMS go
through ordered chains of providers, each behind a circuit breaker; a message that
fails every round is dead-lettered. A push service's 404/410 drops the subscription.
Users read their inbox, set their language, phone, consent and opt-outs and register
their browsers for push; administrators (`admin` role) read the delivery log. Errors
are `application/problem+json` with a stable `reason`.
"""

OPENAPI_TAGS = [
    {"name": "notifications", "description": "Inbox, preferences, delivery log"},
    {"name": "devices", "description": "Web Push subscriptions (VAPID, aes128gcm)"},
    {"name": "broadcasts", "description": "Promotions to the consenting users (admins)"},
    {"name": "unsubscribe", "description": "One-click unsubscribe links (no sign-in)"},
]


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    """The notifications app; settings from the environment (`NOTIFICATIONS_*`) unless given."""
    return service_app(
        NOTIFICATIONS,
        settings or NotificationsSettings(),
        version=__version__,
        description=DESCRIPTION,
        routers=[notifications.router, devices.router, broadcasts.router, unsubscribe.router],
        setup=setup,
        migrations=migrations_dir(),
        openapi_tags=OPENAPI_TAGS,
    )


async def setup(kit: ServiceKit[NotificationsSettings]) -> None:
    settings = kit.settings
    db = await kit.cassandra()
    store = NotificationStore(db)
    limiter = RateLimiter(kit.redis(), prefix=settings.redis_key_prefix, metrics=kit.metrics)
    service_key = _unsubscribe_key(settings)
    links = UnsubscribeLinks(
        service_key,
        str(settings.public_url),
        valid_for=timedelta(days=settings.unsubscribe_link_days),
    )
    kit.provide(Unsubscribes(store, links))
    kit.provide(UserNotifications(store))
    kit.provide(DeliveryLog(store))
    if settings.auth_client_secret is None:
        _logger.warning(
            "no NOTIFICATIONS_AUTH_CLIENT_SECRET: e-mail cannot be addressed and will be "
            "dead-lettered; the in-app inbox works"
        )
    contacts = await kit.enter(
        AuthContacts(
            str(settings.auth_url),
            client_id=settings.auth_client_id,
            client_secret=(
                settings.auth_client_secret.get_secret_value()
                if settings.auth_client_secret
                else None
            ),
            timeout=settings.auth_timeout_seconds,
        )
    )
    chain = FailoverChain(
        [
            SmtpProvider(host, port, timeout=settings.smtp_timeout_seconds)
            for host, port in settings.smtp_endpoints()
        ],
        failures=settings.breaker_failures,
        reset_seconds=settings.breaker_reset_seconds,
    )
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    mobile = await _mobile(kit, store, owner)
    kit.provide(
        PhoneVerification(
            store,
            mobile.sms,
            limiter,
            # Its own key, derived: a code's hash says nothing about unsubscribe links.
            hmac.new(service_key, b"phone-codes", hashlib.sha256).digest(),
            code_seconds=settings.phone_code_seconds,
            attempts=settings.phone_code_attempts,
            per_hour=settings.phone_codes_per_hour,
            # One pass over the chain: the user is waiting, and may ask again.
            rounds=1,
            backoff=lambda: Backoff(settings.retry_initial_seconds, settings.retry_max_seconds),
        )
    )
    names = await kit.enter(
        ProductNames(str(settings.catalog_url), timeout=settings.catalog_timeout_seconds)
    )
    admin_chat = kit.provide(await _admin_chat(kit, store, names, owner))
    metrics = NotifierMetrics.of(kit.metrics)
    notifier = kit.provide(
        Notifier(
            store,
            contacts,
            chain,
            metrics,
            mail_from=settings.mail_from,
            retry=Retry(
                settings.send_rounds, settings.retry_initial_seconds, settings.retry_max_seconds
            ),
            owner=owner,
            unsubscribe=links,
            mobile=mobile,
            names=names,
        )
    )
    kit.provide(
        await kit.enter(
            Broadcasts(
                BroadcastStore(db),
                store,
                notifier,
                limiter,
                per_admin_hourly=settings.broadcasts_per_hour,
                owner=owner,
                page_size=settings.broadcast_page_size,
                per_second=settings.broadcast_messages_per_second,
                lease_seconds=settings.broadcast_lease_seconds,
                tick_seconds=settings.broadcast_tick_seconds,
            )
        )
    )
    if settings.consume_orders:
        if settings.creates_topics:
            # Their producers create the topics in clusters; locally they may not run yet.
            await create_topics(settings, _topics(settings))
        await kit.enter(
            IdempotentConsumer(
                db,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                group_id=settings.consumer_group,
                topics=_topics(settings),
                registry=events_registry(),
                handler=_dispatch(notifier, admin_chat, metrics),
                handles=(*HANDLED, *STOCK_EVENTS),
                # The handler is idempotent by itself (a claim per message), so the
                # kit's per-event dedupe would only cost two more LWTs per event.
                config=ConsumerConfig(handler_timeout=HANDLER_TIMEOUT_SECONDS, dedupe=False),
                metrics=ConsumerMetrics(kit.metrics.registry),
                tracer_provider=kit.tracer_provider,
            )
        )


async def _mobile(
    kit: ServiceKit[NotificationsSettings], store: NotificationStore, owner: str
) -> MobileChannels:
    """SMS (when providers are configured) and Web Push (when a VAPID key is)."""
    settings = kit.settings
    sms_chain: FailoverChain[Sms] | None = None
    urls = settings.sms_urls()
    if urls and settings.sms_api_key is None:
        _logger.warning(
            "SMS providers but no NOTIFICATIONS_SMS_API_KEY (in a cluster: Vault entry "
            "notifications/provided/sms, field api_key): SMS is off, SMS updates are skipped"
        )
    elif not urls:
        _logger.warning(
            "no NOTIFICATIONS_SMS_PROVIDERS (in a cluster: Vault entry "
            "notifications/provided/sms): SMS is off, SMS updates are skipped"
        )
    if urls and settings.sms_api_key is not None:
        api_key = settings.sms_api_key.get_secret_value()
        providers = [
            await kit.enter(
                aclosing(SmsProvider(url, api_key=api_key, timeout=settings.sms_timeout_seconds))
            )
            for url in urls
        ]
        sms_chain = FailoverChain(
            providers,
            failures=settings.breaker_failures,
            reset_seconds=settings.breaker_reset_seconds,
        )
    push = None
    if settings.vapid_private_key is not None:
        push = await kit.enter(
            aclosing(
                WebPushSender(
                    vapid_private_key(settings.vapid_private_key.get_secret_value()),
                    subject=settings.vapid_subject,
                    timeout=settings.push_timeout_seconds,
                )
            )
        )
    else:
        _logger.warning("no NOTIFICATIONS_VAPID_PRIVATE_KEY: Web Push is off")
    devices = DeviceStore(store.db)
    kit.provide(
        Devices(
            devices,
            allowed_hosts=settings.push_hosts(),
            max_devices=settings.max_devices,
            vapid_public_key=push.public_key if push is not None else None,
        )
    )
    return MobileChannels(
        store,
        devices,
        sms_chain,
        push,
        Rounds(
            settings.send_rounds,
            settings.retry_initial_seconds,
            settings.retry_max_seconds,
            settings.breaker_failures,
            settings.breaker_reset_seconds,
        ),
        owner,
    )


def _topics(settings: NotificationsSettings) -> list[str]:
    return [
        settings.orders_topic,
        settings.wishlist_topic,
        settings.inventory_topic,
        settings.reviews_topic,
    ]


def _dispatch(
    notifier: Notifier, admin_chat: AdminChat, metrics: NotifierMetrics
) -> Callable[[CloudEvent[Any]], Awaitable[None]]:
    """The consumer's handler: stock crossings to the admins' chats, the rest to users."""

    async def handle(event: CloudEvent[Any]) -> None:
        if event.type in STOCK_EVENTS:
            outcome = await admin_chat.handle(event)
            if outcome is not None:
                metrics.deliveries.labels("chat", outcome).inc()
            return
        await notifier.handle(event)

    return handle


async def _admin_chat(
    kit: ServiceKit[NotificationsSettings],
    store: NotificationStore,
    names: ProductNames,
    owner: str,
) -> AdminChat:
    """The chat failover chain (Slack, then Telegram: those configured)."""
    settings = kit.settings
    providers: list[SlackWebhook | TelegramBot] = []
    if settings.chat_slack_webhook_url is not None:
        url = settings.chat_slack_webhook_url.get_secret_value().strip()
        providers.append(
            await kit.enter(aclosing(SlackWebhook(url, timeout=settings.chat_timeout_seconds)))
        )
    if settings.chat_telegram_bot_token is not None and settings.chat_telegram_chat_id is not None:
        providers.append(
            await kit.enter(
                aclosing(
                    TelegramBot(
                        str(settings.telegram_api_url),
                        settings.chat_telegram_bot_token.get_secret_value().strip(),
                        settings.chat_telegram_chat_id,
                        timeout=settings.chat_timeout_seconds,
                    )
                )
            )
        )
    chain: FailoverChain[ChatMessage] | None = None
    if providers:
        chain = FailoverChain(
            providers,
            failures=settings.breaker_failures,
            reset_seconds=settings.breaker_reset_seconds,
        )
    else:
        _logger.warning(
            "no admin chat (Slack webhook or Telegram bot; in a cluster: Vault entries "
            "notifications/provided/slack, .../telegram): stock crossings are read and skipped"
        )
    return AdminChat(
        store,
        chain,
        names,
        rounds=settings.send_rounds,
        initial_seconds=settings.retry_initial_seconds,
        max_seconds=settings.retry_max_seconds,
        owner=owner,
        locale=settings.admin_locale,
    )


def _unsubscribe_key(settings: NotificationsSettings) -> bytes:
    if settings.unsubscribe_key is not None:
        return settings.unsubscribe_key.get_secret_value().encode("utf-8")
    # Development only (the settings refuse a missing key elsewhere): links stop
    # working when the process restarts.
    return secrets.token_bytes(32)
