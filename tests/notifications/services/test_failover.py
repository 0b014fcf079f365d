"""The e-mail provider chain: when the first SMTP server is down the message goes out
through the second, the first's breaker skips it meanwhile, and once it is back (and
the breaker's reset time has passed) messages go through it again. With every server
down, the message is retried in rounds and dead-lettered."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI

from devstack.components.mailpit import Mailpit
from productstore_common.kit.container import container_of
from productstore_notifications.app.core.config import NotificationsSettings
from productstore_notifications.app.services.notifier import Notifier
from productstore_notifications.app.services.rendering import OrderFacts
from tests.catalog.support import AuthServer, asgi_client
from tests.notifications.support import (
    MailpitReader,
    User,
    admin_token,
    attempts_of,
    relay_to,
    running,
)
from tests.operator.handlers.support import free_port
from tests.support.problems import bearer

pytestmark = pytest.mark.anyio

BREAKER_RESET_SECONDS = 1.0


async def send(app: FastAPI, user: User) -> tuple[uuid.UUID, str]:
    event_id = uuid.uuid4()
    facts = OrderFacts(order_id=str(uuid.uuid4()), at=datetime.now(UTC))
    outcomes = await container_of(app).get(Notifier).notify(event_id, "order_paid", user.id, facts)
    return event_id, outcomes["email"]


async def test_the_chain_moves_to_the_next_server_and_comes_back(
    settings: NotificationsSettings,
    mailpit: Mailpit,
    mail: MailpitReader,
    notify_auth: AuthServer,
    user_factory: Callable[[], User],
) -> None:
    token = admin_token(notify_auth)
    mailpit_provider = f"smtp:{mailpit.smtp_host}:{mailpit.smtp_port}"
    async with relay_to(mailpit) as relay:
        primary = f"smtp:127.0.0.1:{relay.port}"
        servers = f"127.0.0.1:{relay.port},{mailpit.smtp_host}:{mailpit.smtp_port}"
        async with running(
            settings,
            smtp_servers=servers,
            breaker_failures=1,
            breaker_reset_seconds=BREAKER_RESET_SECONDS,
        ) as app:
            # Both up: the first server takes it.
            user = user_factory()
            event_id, outcome = await send(app, user)
            assert outcome == "sent"
            assert await attempts_of(app, token, event_id) == [(primary, "sent")]
            assert relay.connections == 1

            # The first is down: refused, then the second takes it.
            await relay.stop()
            user = user_factory()
            event_id, outcome = await send(app, user)
            assert outcome == "sent"
            assert await attempts_of(app, token, event_id) == [
                (primary, "failed"),
                (mailpit_provider, "sent"),
            ]
            await mail.wait_for(user.email)

            # Its breaker is open: the next message does not even try it.
            user = user_factory()
            event_id, _ = await send(app, user)
            assert await attempts_of(app, token, event_id) == [(mailpit_provider, "sent")]

            # Back on the same port, and after the reset time one trial goes to it.
            await relay.start()
            await asyncio.sleep(BREAKER_RESET_SECONDS + 0.2)
            user = user_factory()
            event_id, outcome = await send(app, user)
            assert outcome == "sent"
            assert await attempts_of(app, token, event_id) == [(primary, "sent")]
            assert relay.connections == 2
            [message] = await mail.wait_for(user.email)
            assert message["Subject"].startswith("Order ")


async def test_with_every_server_down_the_message_is_dead_lettered(
    settings: NotificationsSettings,
    notify_auth: AuthServer,
    user_factory: Callable[[], User],
) -> None:
    token = admin_token(notify_auth)
    down = free_port()  # nothing listens there
    async with running(
        settings, smtp_servers=f"127.0.0.1:{down}", send_rounds=3, breaker_failures=10
    ) as app:
        user = user_factory()
        event_id, outcome = await send(app, user)
        assert outcome == "dead_lettered"
        provider = f"smtp:127.0.0.1:{down}"
        assert await attempts_of(app, token, event_id) == [
            (provider, "failed"),
            (provider, "failed"),
            (provider, "failed"),
            ("-", "dead_lettered"),
        ]
        async with asgi_client(app) as client:
            dead = await client.get(
                "/api/notifications/deliveries",
                params={"status": "dead_lettered"},
                headers=bearer(token),
            )
            assert str(event_id) in {row["event_id"] for row in dead.json()["items"]}
            # The in-app message is not held back by the e-mail's failure.
            inbox = await client.get("/api/notifications", headers=bearer(user.token))
            assert len(inbox.json()["items"]) == 1


async def test_an_admin_replays_a_dead_letter_once_the_server_is_back(
    settings: NotificationsSettings,
    mailpit: Mailpit,
    mail: MailpitReader,
    notify_auth: AuthServer,
    user_factory: Callable[[], User],
) -> None:
    token = admin_token(notify_auth)
    user = user_factory()
    async with relay_to(mailpit) as relay:
        await relay.stop()  # down from the start
        async with running(
            settings,
            smtp_servers=f"127.0.0.1:{relay.port}",
            send_rounds=2,
            breaker_failures=10,
        ) as app:
            event_id, outcome = await send(app, user)
            assert outcome == "dead_lettered"
            body = {"event_id": str(event_id), "recipient": str(user.id)}
            async with asgi_client(app) as client:
                refused = await client.post(
                    "/api/notifications/dead-letters/replay", json=body, headers=bearer(user.token)
                )
                assert refused.status_code == 403
                await relay.start()
                replayed = await client.post(
                    "/api/notifications/dead-letters/replay", json=body, headers=bearer(token)
                )
                assert replayed.status_code == 200, replayed.text
                assert replayed.json() == {"outcome": "sent"}
                again = await client.post(
                    "/api/notifications/dead-letters/replay", json=body, headers=bearer(token)
                )
                assert again.status_code == 404
                assert again.json()["reason"] == "dead_letter_not_found"
            [message] = await mail.wait_for(user.email)
            assert message["Subject"].startswith("Order ")
            await asyncio.sleep(0.5)
            assert len(mail.messages_to(user.email)) == 1
            # The replay's attempts are logged too (numbered from 1 again): one sent.
            attempts = await attempts_of(app, token, event_id)
            assert [a for a in attempts if a[1] == "sent"] == [
                (f"smtp:127.0.0.1:{relay.port}", "sent")
            ]
