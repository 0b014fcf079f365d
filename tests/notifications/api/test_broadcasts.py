"""Admins' broadcasts over HTTP: only users who turned promotions on get one, in their
language, minus their opt-outs, with a one-click unsubscribe link; segments by
language; bad input is problem+json that points at the member; six an hour per admin."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from productstore_notifications.app.core.config import NotificationsSettings
from tests.catalog.support import AuthServer, asgi_client
from tests.notifications.support import MailpitReader, User, admin_token, running
from tests.support.problems import assert_problem, bearer

pytestmark = pytest.mark.anyio

BROADCASTS = "/api/notifications/broadcasts"


async def _prefer(client: httpx.AsyncClient, user: User, **body: Any) -> None:
    put = await client.put("/api/notifications/preferences", json=body, headers=bearer(user.token))
    assert put.status_code == 200, put.text


async def _finished(client: httpx.AsyncClient, admin: str, broadcast_id: str) -> dict[str, Any]:
    for _ in range(300):
        found: dict[str, Any] = (
            await client.get(f"{BROADCASTS}/{broadcast_id}", headers=bearer(admin))
        ).json()
        if found["status"] == "done":
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the broadcast never finished")


async def test_a_broadcast_reaches_the_consenting_in_their_language(
    client: httpx.AsyncClient,
    notify_auth: AuthServer,
    mail: MailpitReader,
    user_factory: Callable[[], User],
) -> None:
    english, russian, muted, silent = (user_factory() for _ in range(4))
    await _prefer(client, english, promotions=True)
    await _prefer(client, russian, locale="ru", promotions=True)
    await _prefer(
        client, muted, promotions=True, opt_outs=[{"topic": "promotion", "channel": "email"}]
    )
    await _prefer(client, silent, locale="ru")  # never said yes
    admin = admin_token(notify_auth)
    body = {
        "subject": {"en": "Winter sale", "ru": "Зимняя распродажа"},
        "body": {"en": "Everything -20%.\n\nUntil Sunday.", "ru": "Всё на 20% дешевле."},
    }
    created = await client.post(BROADCASTS, json=body, headers=bearer(admin))
    assert created.status_code == 202, created.text
    assert created.json()["segment"] == {"audience": "promotions_opted_in", "locale": None}
    done = await _finished(client, admin, created.json()["id"])
    assert done["recipients"] >= 3
    assert done["finished_at"] is not None

    [to_english] = await mail.wait_for(english.email)
    assert to_english["Subject"] == "Winter sale"
    assert "Until Sunday." in to_english["Text"]
    assert "List-Unsubscribe" in mail.headers(to_english)
    [to_russian] = await mail.wait_for(russian.email)
    assert to_russian["Subject"] == "Зимняя распродажа"
    assert "Отписаться" in to_russian["Text"]
    assert mail.messages_to(muted.email) == []
    muted_inbox = (await client.get("/api/notifications", headers=bearer(muted.token))).json()
    assert [item["title"] for item in muted_inbox["items"]] == ["Winter sale"]
    assert mail.messages_to(silent.email) == []
    silent_inbox = (await client.get("/api/notifications", headers=bearer(silent.token))).json()
    assert silent_inbox["items"] == []


async def test_a_segment_by_language_skips_the_others(
    client: httpx.AsyncClient,
    notify_auth: AuthServer,
    mail: MailpitReader,
    user_factory: Callable[[], User],
) -> None:
    english, russian = user_factory(), user_factory()
    await _prefer(client, english, promotions=True)
    await _prefer(client, russian, locale="ru", promotions=True)
    # A user who moved from Russian to English leaves the Russian segment.
    moved = user_factory()
    await _prefer(client, moved, locale="ru", promotions=True)
    await _prefer(client, moved, locale="en", promotions=True)
    admin = admin_token(notify_auth)
    body = {
        "segment": {"locale": "ru"},
        "subject": {"en": "Only for Russian readers"},
        "body": {"en": "English text as the fallback."},
    }
    created = await client.post(BROADCASTS, json=body, headers=bearer(admin))
    assert created.status_code == 202, created.text
    await _finished(client, admin, created.json()["id"])
    [message] = await mail.wait_for(russian.email)
    # No Russian text given: the English one.
    assert message["Subject"] == "Only for Russian readers"
    assert mail.messages_to(english.email) == []
    assert mail.messages_to(moved.email) == []


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("no subject", {"body": {"en": "x"}}, "#/subject"),
    ("empty english", {"subject": {"en": ""}, "body": {"en": "x"}}, "#/subject/en"),
    (
        "unknown language",
        {"subject": {"en": "x", "de": "y"}, "body": {"en": "x"}},
        "#/subject/de",
    ),
    (
        "unknown segment",
        {"segment": {"audience": "everyone"}, "subject": {"en": "x"}, "body": {"en": "x"}},
        "#/segment/audience",
    ),
    (
        "segment locale",
        {"segment": {"locale": "fr"}, "subject": {"en": "x"}, "body": {"en": "x"}},
        "#/segment/locale",
    ),
]


@pytest.mark.parametrize(("body", "pointer"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
async def test_bad_broadcasts_are_problems_that_point_at_the_member(
    client: httpx.AsyncClient, notify_auth: AuthServer, body: dict[str, Any], pointer: str
) -> None:
    response = await client.post(BROADCASTS, json=body, headers=bearer(admin_token(notify_auth)))
    problem = assert_problem(response, 422)
    assert pointer in {error.get("pointer") for error in problem["errors"]}, problem


async def test_broadcasts_are_for_admins_and_named_by_id(
    client: httpx.AsyncClient, notify_auth: AuthServer, user_factory: Callable[[], User]
) -> None:
    user = user_factory()
    body = {"subject": {"en": "x"}, "body": {"en": "x"}}
    assert_problem(await client.post(BROADCASTS, json=body, headers=bearer(user.token)), 403)
    assert_problem(await client.post(BROADCASTS, json=body), 401)
    missing = await client.get(
        f"{BROADCASTS}/{uuid.uuid4()}", headers=bearer(admin_token(notify_auth))
    )
    assert_problem(missing, 404, "broadcast_not_found")


async def test_each_admin_may_start_only_so_many_an_hour(
    settings: NotificationsSettings, notify_auth: AuthServer
) -> None:
    admin = admin_token(notify_auth)
    body = {"segment": {"locale": "ru"}, "subject": {"en": "x"}, "body": {"en": "x"}}
    prefix = f"notifications-limit-{uuid.uuid4().hex[:8]}"
    async with (
        running(settings, broadcasts_per_hour=2, redis_key_prefix=prefix) as app,
        asgi_client(app) as http,
    ):
        # A refused body spends nothing.
        bad = await http.post(BROADCASTS, json={"subject": {"en": ""}}, headers=bearer(admin))
        assert_problem(bad, 422)
        for _ in range(2):
            accepted = await http.post(BROADCASTS, json=body, headers=bearer(admin))
            assert accepted.status_code == 202, accepted.text
        limited = await http.post(BROADCASTS, json=body, headers=bearer(admin))
        problem = assert_problem(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) > 0
        assert "broadcasts" in problem["detail"]
