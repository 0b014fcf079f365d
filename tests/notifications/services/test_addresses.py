"""Where e-mail cannot be addressed: auth down, no client secret, a disabled user, an
order never seen placed. The in-app message still goes; the e-mail is dead-lettered
or skipped with the reason in the delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from productstore_common.events import new_event
from productstore_common.kit.container import container_of
from productstore_contracts.events.orders import ORDERS_SOURCE, OrderPaid
from productstore_notifications.app.core.config import NotificationsSettings
from productstore_notifications.app.services.notifier import Notifier
from productstore_notifications.app.services.rendering import OrderFacts
from tests.catalog.support import AuthServer, asgi_client
from tests.notifications.support import User, admin_token, running
from tests.operator.handlers.support import free_port
from tests.support.problems import bearer

pytestmark = pytest.mark.anyio


def _facts() -> OrderFacts:
    return OrderFacts(order_id=str(uuid.uuid4()), at=datetime.now(UTC))


async def _email_log(app: FastAPI, token: str, event_id: uuid.UUID) -> list[dict[str, object]]:
    async with asgi_client(app) as client:
        page = await client.get(
            "/api/notifications/deliveries", params={"channel": "email"}, headers=bearer(token)
        )
    rows = [row for row in page.json()["items"] if row["event_id"] == str(event_id)]
    return sorted(rows, key=lambda r: (r["attempt"], r["at"]))


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"auth_url": "http://127.0.0.1:{port}"}, "auth did not answer"),
        ({"auth_client_secret": None}, "no NOTIFICATIONS_AUTH_CLIENT_SECRET"),
        (
            {"auth_client_secret": SecretStr("not-the-secret-0123456789")},
            "auth refused a service token (401)",
        ),
    ],
    ids=["auth-down", "no-secret", "wrong-secret"],
)
async def test_without_an_address_the_email_is_dead_lettered(
    settings: NotificationsSettings,
    notify_auth: AuthServer,
    user_factory: Callable[[], User],
    overrides: dict[str, object],
    error: str,
) -> None:
    if "auth_url" in overrides:
        overrides = {"auth_url": f"http://127.0.0.1:{free_port()}"}
    token = admin_token(notify_auth)
    user = user_factory()
    async with running(settings, send_rounds=2, **overrides) as app:
        event_id = uuid.uuid4()
        notifier = container_of(app).get(Notifier)
        outcomes = await notifier.notify(event_id, "order_paid", user.id, _facts())
        assert outcomes == {"inapp": "sent", "email": "dead_lettered"}
        rows = await _email_log(app, token, event_id)
        assert [(r["provider"], r["outcome"]) for r in rows] == [
            ("auth", "failed"),
            ("auth", "failed"),
            ("-", "dead_lettered"),
        ]
        assert all(error in str(r["error"]) for r in rows)


async def test_a_disabled_user_gets_no_email(
    settings: NotificationsSettings, notify_auth: AuthServer, user_factory: Callable[[], User]
) -> None:
    token = admin_token(notify_auth)
    user = user_factory()
    disabled = httpx.post(
        f"{notify_auth.url}/api/auth/users/{user.id}/disable", headers=bearer(token), timeout=30
    )
    assert disabled.status_code == 200, disabled.text
    async with running(settings) as app:
        event_id = uuid.uuid4()
        notifier = container_of(app).get(Notifier)
        outcomes = await notifier.notify(event_id, "order_paid", user.id, _facts())
        assert outcomes["email"] == "no_address"
        [row] = await _email_log(app, token, event_id)
        assert (row["provider"], row["outcome"]) == ("auth", "skipped")


async def test_an_order_never_seen_placed_sends_nothing(
    settings: NotificationsSettings, user_factory: Callable[[], User]
) -> None:
    user = user_factory()
    async with running(settings) as app:
        order_id = uuid.uuid4()
        event = new_event(OrderPaid(order_id=order_id), source=ORDERS_SOURCE, subject=str(order_id))
        await container_of(app).get(Notifier).handle(event)
        async with asgi_client(app) as client:
            inbox = await client.get("/api/notifications", headers=bearer(user.token))
        assert inbox.json()["items"] == []
