"""Inventory's stock crossings become one message each in the admins' chats, naming the
product as devstack's catalog does: through Kafka, published twice, sent once; Slack
first, Telegram when Slack is down (its breaker then skips it) and Slack again once it
is back; with both down, a dead letter an admin replays."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from devstack.components.chat import ChatSandbox
from devstack.components.kafka import Kafka
from devstack.stand_in import HOST
from productstore_common.events import new_event
from productstore_common.kit.container import container_of
from productstore_contracts.events.inventory import INVENTORY_SOURCE, BackInStock, LowStock
from productstore_notifications.app.core.config import NotificationsSettings
from productstore_notifications.app.main import create_app
from productstore_notifications.app.services.admin_chat import AdminChat
from tests.catalog.support import AuthServer, asgi_client, wait_ready
from tests.notifications.chat import ChatReader, Product, chat_settings
from tests.notifications.support import (
    Backing,
    admin_token,
    attempts_of,
    running,
    send_stock_events,
    tcp_relay,
)
from tests.support.problems import bearer

pytestmark = pytest.mark.anyio

BREAKER_RESET_SECONDS = 1.0


@pytest.fixture(scope="module")
def chat(chat_sandbox: ChatSandbox) -> ChatReader:
    return ChatReader(chat_sandbox)


@pytest.fixture
async def consuming(
    settings: NotificationsSettings, chat_sandbox: ChatSandbox
) -> AsyncIterator[FastAPI]:
    """An app of the test's own that reads the module's topics (a group of its own) and
    posts to both chats."""
    update = {**chat_settings(chat_sandbox), "consumer_group": f"chat-{uuid.uuid4().hex[:8]}"}
    app = create_app(settings.model_copy(update=update))
    async with app.router.lifespan_context(app):
        await wait_ready(app)
        yield app


def low(product_id: uuid.UUID, available: int = 2, version: int = 7) -> LowStock:
    return LowStock(product_id=product_id, available=available, version=version, threshold=5)


async def test_a_crossing_through_kafka_reaches_slack_once_naming_the_product(  # noqa: PLR0917 (fixtures)
    consuming: FastAPI,
    kafka: Kafka,
    backing: Backing,
    chat: ChatReader,
    product: Product,
    notify_auth: AuthServer,
) -> None:
    crossing = low(product.id)
    [event] = await send_stock_events(kafka, backing.inventory_topic, [(crossing, None)])
    # Republished (inventory after a crash: the same id), then recovered. One key per
    # product keeps them in order: once "recovered" is in, the copy was read before it.
    recovered = BackInStock(product_id=product.id, available=9, version=8, threshold=5)
    await send_stock_events(
        kafka, backing.inventory_topic, [(crossing, event.id), (recovered, None)]
    )
    first, second = await chat.wait_for(product.id, 2)
    await asyncio.sleep(0.5)
    assert len(chat.about(product.id)) == 2
    assert (first["receiver"], second["receiver"]) == ("slack", "slack")
    assert first["text"] == (
        f"Low stock: product “{product.name}” ({product.id}) is down to 2 available, at or "
        "below its threshold of 5."
    )
    assert second["text"].startswith(f"Stock recovered: product “{product.name}”")
    token = admin_token(notify_auth)
    assert await attempts_of(consuming, token, event.id, "chat") == [("slack", "sent")]


async def test_slack_down_goes_to_telegram_and_comes_back(
    settings: NotificationsSettings,
    chat_sandbox: ChatSandbox,
    chat: ChatReader,
    notify_auth: AuthServer,
) -> None:
    token = admin_token(notify_auth)
    product_id = uuid.uuid4()  # not in the catalog: the message gives its reference
    async with tcp_relay(HOST, chat_sandbox.port) as relay:
        # Slack through the relay, Telegram straight to its stand-in.
        slack = chat_settings(chat_sandbox, via=f"http://127.0.0.1:{relay.port}")
        overrides = {
            **chat_settings(chat_sandbox),
            "chat_slack_webhook_url": slack["chat_slack_webhook_url"],
            "breaker_failures": 1,
            "breaker_reset_seconds": BREAKER_RESET_SECONDS,
        }
        async with running(settings, **overrides) as app:
            admin_chat = container_of(app).get(AdminChat)

            async def cross(version: int) -> uuid.UUID:
                event = new_event(
                    low(product_id, version=version),
                    source=INVENTORY_SOURCE,
                    subject=str(product_id),
                )
                assert await admin_chat.handle(event) == "sent"
                return event.id

            await relay.stop()
            down = await cross(1)
            assert await attempts_of(app, token, down, "chat") == [
                ("slack", "failed"),
                ("telegram", "sent"),
            ]
            # Slack's breaker is open: not even tried.
            skipped = await cross(2)
            assert await attempts_of(app, token, skipped, "chat") == [("telegram", "sent")]
            await relay.start()
            await asyncio.sleep(BREAKER_RESET_SECONDS + 0.1)
            back = await cross(3)
            assert await attempts_of(app, token, back, "chat") == [("slack", "sent")]
    received = await chat.wait_for(product_id, 3)
    assert [m["receiver"] for m in received] == ["telegram", "telegram", "slack"]
    assert f"product {str(product_id)[:8].upper()} ({product_id})" in received[0]["text"]
    assert received[0]["chat"] == str(overrides["chat_telegram_chat_id"])


async def test_both_chats_down_dead_letters_and_an_admin_replays(
    settings: NotificationsSettings,
    chat_sandbox: ChatSandbox,
    chat: ChatReader,
    notify_auth: AuthServer,
) -> None:
    token = admin_token(notify_auth)
    product_id = uuid.uuid4()
    async with tcp_relay(HOST, chat_sandbox.port) as relay:
        overrides = {
            **chat_settings(chat_sandbox, via=f"http://127.0.0.1:{relay.port}"),
            "send_rounds": 2,
            "breaker_failures": 10,
        }
        async with running(settings, **overrides) as app:
            await relay.stop()
            event = new_event(low(product_id), source=INVENTORY_SOURCE, subject=str(product_id))
            assert await container_of(app).get(AdminChat).handle(event) == "dead_lettered"
            assert await attempts_of(app, token, event.id, "chat") == [
                ("slack", "failed"),
                ("telegram", "failed"),
                ("slack", "failed"),
                ("telegram", "failed"),
                ("-", "dead_lettered"),
            ]
            body = {"event_id": str(event.id), "recipient": "admins", "channel": "chat"}
            async with asgi_client(app) as client:
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
    [message] = await chat.wait_for(product_id, 1)
    assert message["receiver"] == "slack"
    assert message["text"].startswith("Low stock: product ")
