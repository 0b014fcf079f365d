"""The HTTP API: preferences with problem+json for bad input, the inbox with read and
unread, the delivery log for admins only."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from productstore_common.kit.container import container_of
from productstore_notifications.app.services.notifier import Notifier
from productstore_notifications.app.services.rendering import OrderFacts
from tests.catalog.support import AuthServer
from tests.notifications.support import User, admin_token
from tests.support.problems import assert_problem, bearer

pytestmark = pytest.mark.anyio


async def test_preferences_default_then_replace(
    client: httpx.AsyncClient, user_factory: Callable[[], User]
) -> None:
    user = user_factory()
    fresh = await client.get("/api/notifications/preferences", headers=bearer(user.token))
    assert fresh.json() == {
        "locale": "en",
        "phone": None,
        "opt_outs": [],
        "updated_at": None,
        "sms_opt_in": False,
        "promotions": False,
        "phone_verified": False,
    }
    # Both consents kept side by side (SMS delivery updates, promotions).
    body = {
        "locale": "ru",
        "phone": "+79161234567",
        "opt_outs": [
            {"topic": "order_paid", "channel": "email"},
            {"topic": "price_drop", "channel": "push"},
        ],
        "sms_opt_in": True,
        "promotions": True,
    }
    put = await client.put("/api/notifications/preferences", json=body, headers=bearer(user.token))
    assert put.status_code == 200, put.text
    read = (await client.get("/api/notifications/preferences", headers=bearer(user.token))).json()
    assert {k: read[k] for k in body} == body
    assert read["updated_at"] is not None
    # Consent is not proof: no SMS until a code sent to the phone comes back.
    assert read["phone_verified"] is False


BAD_PREFERENCES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown locale", {"locale": "de"}, "#/locale"),
    ("phone not E.164", {"phone": "8 916 123 45 67"}, "#/phone"),
    (
        "unknown topic",
        {"opt_outs": [{"topic": "newsletter", "channel": "email"}]},
        "#/opt_outs/0/topic",
    ),
    (
        "unknown channel",
        {"opt_outs": [{"topic": "order_paid", "channel": "pigeon"}]},
        "#/opt_outs/0/channel",
    ),
    ("unknown member", {"locale": "en", "colour": "blue"}, "#/colour"),
    ("SMS without a phone", {"sms_opt_in": True}, "#"),
    # Consent is a JSON true, never a string or a number that lax parsing would take.
    ("SMS consent as a string", {"phone": "+447700900123", "sms_opt_in": "yes"}, "#/sms_opt_in"),
    ("SMS consent as a number", {"phone": "+447700900123", "sms_opt_in": 1}, "#/sms_opt_in"),
    ("promotions as a string", {"promotions": "yes"}, "#/promotions"),
]


@pytest.mark.parametrize(
    ("body", "pointer"), [c[1:] for c in BAD_PREFERENCES], ids=[c[0] for c in BAD_PREFERENCES]
)
async def test_bad_preferences_are_problems_that_point_at_the_member(
    client: httpx.AsyncClient, user_factory: Callable[[], User], body: dict[str, Any], pointer: str
) -> None:
    user = user_factory()
    response = await client.put(
        "/api/notifications/preferences", json=body, headers=bearer(user.token)
    )
    problem = assert_problem(response, 422)
    assert pointer in {error.get("pointer") for error in problem["errors"]}, problem


async def test_an_opt_out_stops_that_channel_only(
    app: FastAPI, client: httpx.AsyncClient, user_factory: Callable[[], User]
) -> None:
    user = user_factory()
    body = {"opt_outs": [{"topic": "order_paid", "channel": "email"}]}
    await client.put("/api/notifications/preferences", json=body, headers=bearer(user.token))
    facts = OrderFacts(order_id=str(uuid.uuid4()), at=datetime.now(UTC))
    notifier = container_of(app).get(Notifier)
    outcomes = await notifier.notify(uuid.uuid4(), "order_paid", user.id, facts)
    assert outcomes == {"inapp": "sent", "email": "skipped"}


async def test_the_inbox_marks_read(
    app: FastAPI, client: httpx.AsyncClient, user_factory: Callable[[], User]
) -> None:
    user = user_factory()
    notifier = container_of(app).get(Notifier)
    for topic in ("order_placed", "order_paid"):
        facts = OrderFacts(order_id=str(uuid.uuid4()), at=datetime.now(UTC))
        await notifier.notify(uuid.uuid4(), topic, user.id, facts)
    inbox = (await client.get("/api/notifications", headers=bearer(user.token))).json()
    assert [item["topic"] for item in inbox["items"]] == ["order_paid", "order_placed"]
    assert inbox["unread"] == 2

    newest = inbox["items"][0]["id"]
    read = await client.post(f"/api/notifications/{newest}/read", headers=bearer(user.token))
    assert read.status_code == 204
    unread = (
        await client.get(
            "/api/notifications", params={"unread": "true"}, headers=bearer(user.token)
        )
    ).json()
    assert [item["topic"] for item in unread["items"]] == ["order_placed"]

    # Someone else's notification is not there for another user.
    other = user_factory()
    stranger = await client.post(f"/api/notifications/{newest}/read", headers=bearer(other.token))
    assert_problem(stranger, 404, "notification_not_found")
    # A UUID that is not time-based names no notification (and is no timeuuid).
    random_id = await client.post(
        f"/api/notifications/{uuid.uuid4()}/read", headers=bearer(user.token)
    )
    assert_problem(random_id, 404, "notification_not_found")


async def test_the_delivery_log_is_for_admins(
    client: httpx.AsyncClient, notify_auth: AuthServer, user_factory: Callable[[], User]
) -> None:
    user = user_factory()
    refused = await client.get("/api/notifications/deliveries", headers=bearer(user.token))
    assert_problem(refused, 403)
    anonymous = await client.get("/api/notifications")
    assert_problem(anonymous, 401)
    admin = admin_token(notify_auth)
    bad_filter = await client.get(
        "/api/notifications/deliveries", params={"status": "lost"}, headers=bearer(admin)
    )
    problem = assert_problem(bad_filter, 422)
    assert "status" in problem["errors"][0]["parameter"]
