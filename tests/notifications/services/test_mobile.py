"""SMS delivery updates and Web Push against devstack's stand-ins: the SMS chain fails
over when the first provider fails and comes back when it recovers; a push arrives
VAPID-signed and decrypts to the message; a gone subscription is dropped; redelivery
sends nothing twice; an order event through Kafka reaches both; wishlist notices and
broadcasts are pushed (and mailed) but never texted."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.kafka import Kafka
from devstack.components.sms import SmsSandbox
from devstack.components.webpush import WebPushSandbox
from productstore_common.kit.container import container_of
from productstore_contracts.events.orders import OrderDelivered, OrderLine
from productstore_notifications.app.core.config import NotificationsSettings
from productstore_notifications.app.main import create_app
from productstore_notifications.app.models import Channel, Topic
from productstore_notifications.app.services.notifier import Notifier
from productstore_notifications.app.services.rendering import (
    Facts,
    OrderFacts,
    ProductFacts,
    PromotionFacts,
)
from tests.catalog.support import AuthServer, asgi_client, wait_ready
from tests.notifications.mobile import (
    SmsAccounts,
    browser_subscription,
    new_phone,
    new_vapid_key,
    opt_in,
    pushes_to,
)
from tests.notifications.support import (
    Backing,
    User,
    admin_token,
    attempts_of,
    running,
    send_order_events,
)
from tests.support.problems import bearer
from tests.support.proxy import tcp_proxy

pytestmark = pytest.mark.anyio

BREAKER_RESET_SECONDS = 1.0


async def notify(
    app: FastAPI, user: User, topic: Topic = "order_delivered", event_id: uuid.UUID | None = None
) -> tuple[uuid.UUID, dict[Channel, str]]:
    event_id = event_id or uuid.uuid4()
    facts = OrderFacts(order_id=str(uuid.uuid4()), at=datetime.now(UTC))
    outcomes = await container_of(app).get(Notifier).notify(event_id, topic, user.id, facts)
    return event_id, outcomes


async def test_sms_fails_over_to_the_next_provider_and_comes_back(
    settings: NotificationsSettings,
    sms_sandbox: SmsSandbox,
    notify_auth: AuthServer,
    user_factory: Callable[[], User],
) -> None:
    token = admin_token(notify_auth)
    accounts = SmsAccounts(sms_sandbox)
    first, second = accounts.providers
    overrides = accounts.settings(breaker_failures=1, breaker_reset_seconds=BREAKER_RESET_SECONDS)
    async with running(settings, **overrides) as app, asgi_client(app) as client:
        # Both up: the first provider takes it.
        user, phone = user_factory(), new_phone()
        await opt_in(client, accounts, user, phone)
        event_id, outcomes = await notify(app, user)
        assert outcomes["sms"] == "sent"
        assert await attempts_of(app, token, event_id, "sms") == [(first, "sent")]
        [message] = accounts.received(phone)
        assert message["account"] == accounts.names[0]
        assert "was delivered" in message["body"]

        # The first fails: the second takes it, and the first's breaker opens.
        user, phone = user_factory(), new_phone()
        await opt_in(client, accounts, user, phone)
        accounts.fail(0)
        event_id, outcomes = await notify(app, user, "order_fulfilled")
        assert outcomes["sms"] == "sent"
        assert await attempts_of(app, token, event_id, "sms") == [
            (first, "failed"),
            (second, "sent"),
        ]
        assert [m["account"] for m in accounts.received(phone)] == [accounts.names[1]]
        event_id, _ = await notify(app, user)
        assert await attempts_of(app, token, event_id, "sms") == [(second, "sent")]

        # Recovered, and after the reset time the trial goes to the first again.
        accounts.recover(0)
        await asyncio.sleep(BREAKER_RESET_SECONDS + 0.2)
        event_id, outcomes = await notify(app, user)
        assert outcomes["sms"] == "sent"
        assert await attempts_of(app, token, event_id, "sms") == [(first, "sent")]


async def test_sms_only_for_delivery_updates_to_users_who_opted_in(
    settings: NotificationsSettings,
    sms_sandbox: SmsSandbox,
    user_factory: Callable[[], User],
) -> None:
    accounts = SmsAccounts(sms_sandbox)
    async with running(settings, **accounts.settings()) as app, asgi_client(app) as client:
        user, phone = user_factory(), new_phone()
        # A phone but no yes: nothing.
        body = {"phone": phone}
        put = await client.put(
            "/api/notifications/preferences", json=body, headers=bearer(user.token)
        )
        assert put.status_code == 200, put.text
        _, outcomes = await notify(app, user)
        assert "sms" not in outcomes
        # Opted in: delivery updates, but not payment news; opted out of one topic.
        await opt_in(client, accounts, user, phone, locale="ru")
        _, outcomes = await notify(app, user, "order_paid")
        assert "sms" not in outcomes
        event_id, outcomes = await notify(app, user)
        assert outcomes["sms"] == "sent"
        # The same event again (a redelivery) sends nothing more.
        _, again = await notify(app, user, event_id=event_id)
        assert again["sms"] == "duplicate"
        [message] = accounts.received(phone)
        assert "доставлен" in message["body"]
        assert message["reference"] == f"{event_id}:{user.id}:sms"


async def test_with_every_sms_provider_failing_the_message_is_dead_lettered(
    settings: NotificationsSettings,
    sms_sandbox: SmsSandbox,
    notify_auth: AuthServer,
    user_factory: Callable[[], User],
) -> None:
    token = admin_token(notify_auth)
    accounts = SmsAccounts(sms_sandbox)
    overrides = accounts.settings(send_rounds=2, breaker_failures=10)
    async with running(settings, **overrides) as app, asgi_client(app) as client:
        user, phone = user_factory(), new_phone()
        await opt_in(client, accounts, user, phone)
        accounts.fail(0)
        accounts.fail(1, status=500)
        event_id, outcomes = await notify(app, user)
        assert outcomes["sms"] == "dead_lettered"
        first, second = accounts.providers
        assert await attempts_of(app, token, event_id, "sms") == [
            (first, "failed"),
            (second, "failed"),
            (first, "failed"),
            (second, "failed"),
            ("-", "dead_lettered"),
        ]
        assert accounts.received(phone) == []

        # Once the backup recovers, an admin replays it: one text, the dead letter gone.
        accounts.recover(1)
        body = {"event_id": str(event_id), "recipient": str(user.id), "channel": "sms"}
        replayed = await client.post(
            "/api/notifications/dead-letters/replay", json=body, headers=bearer(token)
        )
        assert replayed.status_code == 200, replayed.text
        assert replayed.json() == {"outcome": "sent"}
        [text] = accounts.received(phone)
        assert text["reference"] == f"{event_id}:{user.id}:sms"
        again = await client.post(
            "/api/notifications/dead-letters/replay", json=body, headers=bearer(token)
        )
        assert again.status_code == 404
        accounts.recover(0)


async def test_a_push_arrives_signed_and_decrypts_and_a_gone_subscription_is_dropped(
    settings: NotificationsSettings,
    webpush_sandbox: WebPushSandbox,
    notify_auth: AuthServer,
    user_factory: Callable[[], User],
) -> None:
    token = admin_token(notify_auth)
    host = webpush_sandbox.url.removeprefix("http://")
    overrides = {"vapid_private_key": new_vapid_key(), "push_endpoint_hosts": host}
    async with running(settings, **overrides) as app, asgi_client(app) as client:
        user = user_factory()
        listed = await client.get("/api/notifications/devices", headers=bearer(user.token))
        server_key = listed.json()["vapid_public_key"]
        # Bound to the service's key: the stand-in refuses pushes signed with any other.
        subscription = browser_subscription(webpush_sandbox, server_key)
        added = await client.post(
            "/api/notifications/devices", json=subscription, headers=bearer(user.token)
        )
        assert added.status_code == 201, added.text
        put = await client.put(
            "/api/notifications/preferences", json={"locale": "ru"}, headers=bearer(user.token)
        )
        assert put.status_code == 200

        event_id, outcomes = await notify(app, user, "order_paid")
        assert outcomes["push"] == "sent"
        [pushed] = pushes_to(webpush_sandbox, subscription["endpoint"])
        payload = json.loads(pushed["plaintext"])
        assert payload["title"].endswith("оплачен")
        assert (payload["topic"], payload["event_id"]) == ("order_paid", str(event_id))
        assert pushed["vapid_sub"] == "mailto:ops@productstore.local"
        provider = f"push:{webpush_sandbox.url}"
        assert await attempts_of(app, token, event_id, "push") == [(provider, "sent")]

        # The browser unsubscribes: the push service answers 410 and the row goes.
        subscription_id = subscription["endpoint"].rsplit("/", 1)[1]
        gone = httpx.delete(f"{webpush_sandbox.url}/subscriptions/{subscription_id}", timeout=5)
        assert gone.status_code == 204
        event_id, outcomes = await notify(app, user, "order_paid")
        assert outcomes["push"] == "gone"
        assert await attempts_of(app, token, event_id, "push") == [(provider, "failed")]
        listed = await client.get("/api/notifications/devices", headers=bearer(user.token))
        assert listed.json()["items"] == []
        # No subscription left: no push is even claimed.
        _, outcomes = await notify(app, user, "order_paid")
        assert "push" not in outcomes


async def test_a_push_dead_lettered_while_its_push_service_is_down_is_replayed_once(
    settings: NotificationsSettings,
    webpush_sandbox: WebPushSandbox,
    notify_auth: AuthServer,
    user_factory: Callable[[], User],
) -> None:
    """The push service goes down (a proxy of this test's own in front of devstack's
    shared stand-in is cut: connections refused), the rounds fail, a dead letter; it
    comes back on the same address, an admin replays: delivered once, and neither a
    second replay nor the event's redelivery pushes again."""
    token = admin_token(notify_auth)
    upstream = urlsplit(webpush_sandbox.url)
    assert upstream.hostname is not None and upstream.port is not None
    with tcp_proxy(upstream.hostname, upstream.port, lifetime=300) as proxy:
        front = f"http://{proxy.address}"
        overrides = {
            "vapid_private_key": new_vapid_key(),
            # Only the proxy's origin: every push of this test goes through it.
            "push_endpoint_hosts": proxy.address,
            "send_rounds": 2,
            "breaker_failures": 10,
        }
        async with running(settings, **overrides) as app, asgi_client(app) as client:
            user = user_factory()
            listed = await client.get("/api/notifications/devices", headers=bearer(user.token))
            server_key = listed.json()["vapid_public_key"]
            # Subscribed through the proxy: the endpoint (and the VAPID audience) is its.
            made = httpx.post(
                f"{front}/subscriptions", json={"application_server_key": server_key}, timeout=5
            )
            subscription = made.raise_for_status().json()
            endpoint = subscription["endpoint"]
            assert endpoint.startswith(f"{front}/push/")
            added = await client.post(
                "/api/notifications/devices", json=subscription, headers=bearer(user.token)
            )
            assert added.status_code == 201, added.text

            proxy.cut()
            event_id, outcomes = await notify(app, user, "order_paid")
            assert outcomes["push"] == "dead_lettered"
            provider = f"push:{front}"
            assert await attempts_of(app, token, event_id, "push") == [
                (provider, "failed"),
                (provider, "failed"),
                ("-", "dead_lettered"),
            ]
            assert pushes_to(webpush_sandbox, endpoint) == []
            # Not a gone subscription: a push service that is down keeps it.
            listed = await client.get("/api/notifications/devices", headers=bearer(user.token))
            assert listed.json()["items"] == [{"endpoint": endpoint}]
            body = {"event_id": str(event_id), "recipient": str(user.id), "channel": "push"}
            # Replayed while still down: dead-lettered again, and kept for later.
            early = await client.post(
                "/api/notifications/dead-letters/replay", json=body, headers=bearer(token)
            )
            assert early.status_code == 200, early.text
            assert early.json() == {"outcome": "dead_lettered"}

            proxy.restore()
            replayed = await client.post(
                "/api/notifications/dead-letters/replay", json=body, headers=bearer(token)
            )
            assert replayed.status_code == 200, replayed.text
            assert replayed.json() == {"outcome": "sent"}
            [pushed] = pushes_to(webpush_sandbox, endpoint)
            payload = json.loads(pushed["plaintext"])
            assert (payload["topic"], payload["event_id"]) == ("order_paid", str(event_id))
            # Two rounds, a replay's two rounds while down, then one push that went.
            attempts = await attempts_of(app, token, event_id, "push")
            assert sorted(attempts) == sorted(
                [(provider, "failed")] * 4 + [("-", "dead_lettered")] * 2 + [(provider, "sent")]
            )

            # Once: the dead letter is gone, and the event's redelivery finds its claim.
            again = await client.post(
                "/api/notifications/dead-letters/replay", json=body, headers=bearer(token)
            )
            assert again.status_code == 404
            _, outcomes = await notify(app, user, "order_paid", event_id)
            assert outcomes["push"] == "duplicate"
            assert len(pushes_to(webpush_sandbox, endpoint)) == 1


async def test_an_order_delivered_through_kafka_reaches_sms_and_push_once(  # noqa: PLR0917 (fixtures)
    settings: NotificationsSettings,
    kafka: Kafka,
    backing: Backing,
    sms_sandbox: SmsSandbox,
    webpush_sandbox: WebPushSandbox,
    user_factory: Callable[[], User],
) -> None:
    accounts = SmsAccounts(sms_sandbox)
    overrides = accounts.settings(
        vapid_private_key=new_vapid_key(),
        push_endpoint_hosts=webpush_sandbox.url.removeprefix("http://"),
        consumer_group=f"notifications-{uuid.uuid4().hex[:8]}",
    )
    app = create_app(settings.model_copy(update=overrides))
    async with app.router.lifespan_context(app), asgi_client(app) as client:
        await wait_ready(app)
        user, phone = user_factory(), new_phone()
        await opt_in(client, accounts, user, phone)
        subscription = browser_subscription(webpush_sandbox, None)
        added = await client.post(
            "/api/notifications/devices", json=subscription, headers=bearer(user.token)
        )
        assert added.status_code == 201, added.text
        delivered = OrderDelivered(
            order_id=uuid.uuid4(),
            user_id=user.id,
            lines=[OrderLine(product_id=uuid.uuid4(), quantity=1)],
        )
        # The same event twice (a redelivery): still one of each.
        event_id = uuid.uuid4()
        await send_order_events(
            kafka, backing.orders_topic, [(delivered, event_id), (delivered, event_id)]
        )
        for _ in range(300):
            if accounts.received(phone) and pushes_to(webpush_sandbox, subscription["endpoint"]):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        [sms] = accounts.received(phone)
        assert str(delivered.order_id)[:8].upper() in sms["body"]
        [pushed] = pushes_to(webpush_sandbox, subscription["endpoint"])
        assert json.loads(pushed["plaintext"])["event_id"] == str(event_id)


async def test_wishlist_notices_and_broadcasts_are_pushed_and_mailed_never_texted(
    settings: NotificationsSettings,
    sms_sandbox: SmsSandbox,
    webpush_sandbox: WebPushSandbox,
    notify_auth: AuthServer,
    user_factory: Callable[[], User],
) -> None:
    accounts = SmsAccounts(sms_sandbox)
    overrides = accounts.settings(
        vapid_private_key=new_vapid_key(),
        push_endpoint_hosts=webpush_sandbox.url.removeprefix("http://"),
    )
    async with running(settings, **overrides) as app, asgi_client(app) as client:
        user, phone = user_factory(), new_phone()
        await opt_in(client, accounts, user, phone)
        subscription = browser_subscription(webpush_sandbox, None)
        added = await client.post(
            "/api/notifications/devices", json=subscription, headers=bearer(user.token)
        )
        assert added.status_code == 201, added.text
        notifier = container_of(app).get(Notifier)
        product = str(uuid.uuid4())
        drop = ProductFacts(product, datetime.now(UTC), Decimal(30), Decimal(20), "EUR")
        sale = PromotionFacts("Winter sale", "Everything -20%.\n\nUntil Sunday.")
        cases: list[tuple[Topic, Facts]] = [("price_drop", drop), ("promotion", sale)]
        for topic, facts in cases:
            outcomes = await notifier.notify(uuid.uuid4(), topic, user.id, facts)
            assert outcomes == {"inapp": "sent", "email": "sent", "push": "sent"}, topic
        first, second = pushes_to(webpush_sandbox, subscription["endpoint"])
        drop_push, sale_push = json.loads(first["plaintext"]), json.loads(second["plaintext"])
        assert product[:8].upper() in drop_push["body"]
        assert "€20.00" in drop_push["body"]
        assert (sale_push["title"], sale_push["body"]) == ("Winter sale", "Everything -20%.")
        assert accounts.received(phone) == []
