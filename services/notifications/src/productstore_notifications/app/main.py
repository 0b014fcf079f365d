"""The notifications service's app: `create_app()` (for `uvicorn --factory ...:create_app`)."""

from __future__ import annotations

import logging
import os
import socket
import uuid

from fastapi import FastAPI

from productstore_common.events import ConsumerConfig, ConsumerMetrics, IdempotentConsumer
from productstore_common.kit import ServiceKit, service_app
from productstore_common.kit.connections import create_topics
from productstore_contracts.services import NOTIFICATIONS
from productstore_notifications import __version__
from productstore_notifications.app.api.routes import notifications
from productstore_notifications.app.core.config import (
    HANDLER_TIMEOUT_SECONDS,
    NotificationsSettings,
)
from productstore_notifications.app.data import migrations_dir
from productstore_notifications.app.data.contacts import AuthContacts
from productstore_notifications.app.data.smtp import SmtpProvider
from productstore_notifications.app.data.store import NotificationStore
from productstore_notifications.app.services.inbox import DeliveryLog, UserNotifications
from productstore_notifications.app.services.notifier import (
    HANDLED,
    Notifier,
    NotifierMetrics,
    Retry,
    orders_registry,
)
from productstore_notifications.app.services.providers import FailoverChain

_logger = logging.getLogger(__name__)

DESCRIPTION = """\
Messages to users about their orders: e-mail (HTML and plain text, in the user's
language) and an in-app inbox.

Each order event on `productstore.orders` becomes at most one message per channel
for the order's owner: the message is claimed in Cassandra (event, recipient,
channel) before it is sent, so a redelivered event sends nothing. E-mail goes
through an ordered chain of SMTP servers, each behind a circuit breaker; a message
that fails every round is dead-lettered. Users read their inbox and set their
language and opt-outs; administrators (`admin` role) read the delivery log. Errors
are `application/problem+json` with a stable `reason`.
"""

OPENAPI_TAGS = [{"name": "notifications", "description": "Inbox, preferences, delivery log"}]


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    """The notifications app; settings from the environment (`NOTIFICATIONS_*`) unless given."""
    return service_app(
        NOTIFICATIONS,
        settings or NotificationsSettings(),
        version=__version__,
        description=DESCRIPTION,
        routers=[notifications.router],
        setup=setup,
        migrations=migrations_dir(),
        openapi_tags=OPENAPI_TAGS,
    )


async def setup(kit: ServiceKit[NotificationsSettings]) -> None:
    settings = kit.settings
    db = await kit.cassandra()
    store = NotificationStore(db)
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
    notifier = kit.provide(
        Notifier(
            store,
            contacts,
            chain,
            NotifierMetrics.of(kit.metrics),
            mail_from=settings.mail_from,
            retry=Retry(
                settings.send_rounds, settings.retry_initial_seconds, settings.retry_max_seconds
            ),
            owner=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
        )
    )
    if settings.consume_orders:
        if settings.creates_topics:
            # Orders creates its topic in clusters; locally it may not run yet.
            await create_topics(settings, [settings.orders_topic])
        await kit.enter(
            IdempotentConsumer(
                db,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                group_id=settings.consumer_group,
                topics=[settings.orders_topic],
                registry=orders_registry(),
                handler=notifier.handle,
                handles=HANDLED,
                # The handler is idempotent by itself (a claim per message), so the
                # kit's per-event dedupe would only cost two more LWTs per event.
                config=ConsumerConfig(handler_timeout=HANDLER_TIMEOUT_SECONDS, dedupe=False),
                metrics=ConsumerMetrics(kit.metrics.registry),
                tracer_provider=kit.tracer_provider,
            )
        )
