"""Phone verification against devstack's SMS stand-in, Cassandra and Redis: a code by
SMS proves the phone before any delivery update goes to it; wrong, malformed, expired,
exhausted and raced codes are refused as problem+json; codes are rate-limited per user
and per phone; a new phone is unverified again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.sms import SmsSandbox
from productstore_common.kit.container import container_of
from productstore_notifications.app.core.config import NotificationsSettings
from productstore_notifications.app.models import Channel
from productstore_notifications.app.services.notifier import Notifier
from productstore_notifications.app.services.rendering import OrderFacts
from tests.catalog.support import asgi_client
from tests.notifications.mobile import SmsAccounts, is_code, new_phone, verify_phone
from tests.notifications.support import User, running
from tests.support.problems import bearer

pytestmark = pytest.mark.anyio

CODE = "/api/notifications/preferences/phone/code"
VERIFY = "/api/notifications/preferences/phone/verify"


async def delivered(app: FastAPI, user: User) -> dict[Channel, str]:
    facts = OrderFacts(order_id=str(uuid.uuid4()), at=datetime.now(UTC))
    notifier = container_of(app).get(Notifier)
    return await notifier.notify(uuid.uuid4(), "order_delivered", user.id, facts)


async def give_phone(client: httpx.AsyncClient, user: User, phone: str, locale: str = "en") -> None:
    body = {"locale": locale, "phone": phone, "sms_opt_in": True}
    put = await client.put("/api/notifications/preferences", json=body, headers=bearer(user.token))
    assert put.status_code == 200, put.text
    assert put.json()["phone_verified"] is False


async def guess(client: httpx.AsyncClient, user: User, code: str) -> httpx.Response:
    return await client.post(VERIFY, json={"code": code}, headers=bearer(user.token))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_sms_goes_only_to_a_phone_its_code_proved(
    settings: NotificationsSettings, sms_sandbox: SmsSandbox, user_factory: Callable[[], User]
) -> None:
    accounts = SmsAccounts(sms_sandbox)
    async with running(settings, **accounts.settings()) as app, asgi_client(app) as client:
        user, phone = user_factory(), new_phone()
        # No phone yet: nothing to send a code to.
        none = await client.post(CODE, headers=bearer(user.token))
        assert none.status_code == 409
        assert none.json()["reason"] == "no_phone"
        assert none.headers["content-type"] == "application/problem+json"

        # A phone and consent, not proved: no SMS update.
        await give_phone(client, user, phone, locale="ru")
        assert "sms" not in await delivered(app, user)

        sent = await client.post(CODE, headers=bearer(user.token))
        assert sent.status_code == 202, sent.text
        assert sent.json()["phone"] == phone
        [message] = accounts.all_received(phone)
        assert is_code(message) and "ваш код" in message["body"]
        code = accounts.code_sent_to(phone)

        # Malformed: refused before anything is counted; wrong: counted.
        malformed = await guess(client, user, "12ab56")
        assert malformed.status_code == 422
        bad = await guess(client, user, wrong(code))
        assert bad.status_code == 422
        assert bad.json()["reason"] == "verification_code_invalid"
        assert bad.json()["attempts_left"] == settings.phone_code_attempts - 1

        right = await guess(client, user, code)
        assert right.status_code == 200, right.text
        assert right.json()["phone_verified"] is True
        assert (await delivered(app, user))["sms"] == "sent"
        assert len(accounts.received(phone)) == 1
        # Used: the same code again finds nothing pending; no new code for a proved phone.
        again = await guess(client, user, code)
        assert (again.status_code, again.json()["reason"]) == (410, "verification_code_expired")
        proved = await client.post(CODE, headers=bearer(user.token))
        assert (proved.status_code, proved.json()["reason"]) == (409, "phone_already_verified")

        # A new phone is unverified: nothing goes to either until it is proved.
        other = new_phone()
        await give_phone(client, user, other)
        assert "sms" not in await delivered(app, user)
        await verify_phone(client, accounts, user, other)
        assert (await delivered(app, user))["sms"] == "sent"
        assert len(accounts.received(other)) == 1 and len(accounts.received(phone)) == 1


async def test_wrong_guesses_void_the_code_even_all_at_once(
    settings: NotificationsSettings, sms_sandbox: SmsSandbox, user_factory: Callable[[], User]
) -> None:
    accounts = SmsAccounts(sms_sandbox)
    async with running(settings, **accounts.settings()) as app, asgi_client(app) as client:
        user, phone = user_factory(), new_phone()
        await give_phone(client, user, phone)
        assert (await client.post(CODE, headers=bearer(user.token))).status_code == 202
        code = accounts.code_sent_to(phone)
        # Ten wrong guesses at once get exactly the allowed tries, no more.
        answers = await asyncio.gather(*(guess(client, user, wrong(code)) for _ in range(10)))
        statuses = sorted(a.status_code for a in answers)
        attempts = settings.phone_code_attempts
        assert statuses == [422] * attempts + [429] * (10 - attempts)
        # Void: the right code is refused now too.
        late = await guess(client, user, code)
        assert (late.status_code, late.json()["reason"]) == (429, "too_many_attempts")
        assert "sms" not in await delivered(app, user)

        # A new code starts afresh.
        assert (await client.post(CODE, headers=bearer(user.token))).status_code == 202
        fresh = accounts.code_sent_to(phone)
        assert (await guess(client, user, fresh)).status_code == 200


async def test_codes_expire_and_are_rate_limited_per_user_and_per_phone(
    settings: NotificationsSettings, sms_sandbox: SmsSandbox, user_factory: Callable[[], User]
) -> None:
    accounts = SmsAccounts(sms_sandbox)
    overrides = accounts.settings(phone_code_seconds=2, phone_codes_per_hour=2)
    async with running(settings, **overrides) as app, asgi_client(app) as client:
        user, phone = user_factory(), new_phone()
        await give_phone(client, user, phone)
        assert (await client.post(CODE, headers=bearer(user.token))).status_code == 202
        code = accounts.code_sent_to(phone)
        await asyncio.sleep(2.5)
        expired = await guess(client, user, code)
        assert (expired.status_code, expired.json()["reason"]) == (410, "verification_code_expired")

        # The second code of the hour is sent, the third is refused with when to retry.
        assert (await client.post(CODE, headers=bearer(user.token))).status_code == 202
        limited = await client.post(CODE, headers=bearer(user.token))
        assert limited.status_code == 429
        assert limited.json()["reason"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) > 0
        assert len([m for m in accounts.all_received(phone) if is_code(m)]) == 2

        # Another account cannot make the same phone a target either.
        stranger = user_factory()
        await give_phone(client, stranger, phone)
        refused = await client.post(CODE, headers=bearer(stranger.token))
        assert refused.status_code == 429

        # A code sent before the phone changed does not prove the new one.
        third, number = user_factory(), new_phone()
        await give_phone(client, third, number)
        assert (await client.post(CODE, headers=bearer(third.token))).status_code == 202
        old_code = accounts.code_sent_to(number)
        await give_phone(client, third, new_phone())
        changed = await guess(client, third, old_code)
        assert (changed.status_code, changed.json()["reason"]) == (409, "phone_changed")


async def test_without_sms_no_code_is_promised(
    settings: NotificationsSettings, user_factory: Callable[[], User]
) -> None:
    async with running(settings, sms_providers="") as app, asgi_client(app) as client:
        user = user_factory()
        await give_phone(client, user, new_phone())
        refused = await client.post(CODE, headers=bearer(user.token))
        assert (refused.status_code, refused.json()["reason"]) == (409, "sms_not_configured")


async def test_a_code_no_provider_took_is_not_pending(
    settings: NotificationsSettings, sms_sandbox: SmsSandbox, user_factory: Callable[[], User]
) -> None:
    accounts = SmsAccounts(sms_sandbox)
    async with running(settings, **accounts.settings()) as app, asgi_client(app) as client:
        user, phone = user_factory(), new_phone()
        await give_phone(client, user, phone)
        accounts.fail(0)
        accounts.fail(1, status=500)
        try:
            down = await client.post(CODE, headers=bearer(user.token))
        finally:
            accounts.recover(0)
            accounts.recover(1)
        assert (down.status_code, down.json()["reason"]) == (503, "sms_unavailable")
        assert down.headers["Retry-After"] == "60"
        assert accounts.all_received(phone) == []
        # Nothing was sent, so nothing can be guessed.
        none = await guess(client, user, "000000")
        assert (none.status_code, none.json()["reason"]) == (410, "verification_code_expired")
        await verify_phone(client, accounts, user, phone)
        assert (await delivered(app, user))["sms"] == "sent"
