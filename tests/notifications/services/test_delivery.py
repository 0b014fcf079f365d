"""Order events through Kafka become one e-mail in Mailpit, in the user's language, and
one inbox entry; redelivery and a claim left by a crashed sender send nothing more."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.kafka import Kafka
from productstore_common.kit.container import container_of
from productstore_contracts.events.orders import OrderCancelled, OrderPaid
from productstore_notifications.app.data.store import NotificationStore
from productstore_notifications.app.services.notifier import Notifier
from productstore_notifications.app.services.rendering import OrderFacts
from tests.notifications.support import (
    Backing,
    MailpitReader,
    User,
    order_placed,
    send_order_events,
)
from tests.support.problems import bearer

pytestmark = pytest.mark.anyio


async def _settled(store: NotificationStore, event_id: uuid.UUID, user: User) -> None:
    """Until the e-mail's claim is settled (sent or otherwise), bounded."""
    for _ in range(300):
        status = await store.claim_status(event_id, str(user.id), "email")
        if status not in {None, "claimed"}:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the e-mail was never settled")


async def test_an_order_placed_sends_one_email_in_english_by_default(  # noqa: PLR0917 (fixtures)
    app: FastAPI,
    client: httpx.AsyncClient,
    kafka: Kafka,
    backing: Backing,
    mail: MailpitReader,
    user_factory: Callable[[], User],
) -> None:
    user = user_factory()
    placed = order_placed(user)
    await send_order_events(kafka, backing.orders_topic, [(placed, None)])

    [message] = await mail.wait_for(user.email)
    ref = str(placed.order_id)[:8].upper()
    assert message["Subject"] == f"Order {ref} received"
    assert "€1,234.50" in message["Text"]
    assert "€1,234.50" in message["HTML"]
    assert message["HTML"].startswith("<!DOCTYPE html>")
    assert message["To"][0]["Address"] == user.email

    inbox = (await client.get("/api/notifications", headers=bearer(user.token))).json()
    assert [item["title"] for item in inbox["items"]] == [f"Order {ref} received"]
    assert inbox["unread"] == 1


async def test_russian_users_get_russian_mail_with_russian_money_and_dates(  # noqa: PLR0917 (fixtures)
    app: FastAPI,
    client: httpx.AsyncClient,
    kafka: Kafka,
    backing: Backing,
    mail: MailpitReader,
    user_factory: Callable[[], User],
) -> None:
    user = user_factory()
    put = await client.put(
        "/api/notifications/preferences", json={"locale": "ru"}, headers=bearer(user.token)
    )
    assert put.status_code == 200, put.text
    placed = order_placed(user, total="1234.50", currency="RUB")
    paid = OrderPaid(order_id=placed.order_id)
    await send_order_events(kafka, backing.orders_topic, [(placed, None), (paid, None)])

    messages = await mail.wait_for(user.email, count=2)
    ref = str(placed.order_id)[:8].upper()
    subjects = sorted(m["Subject"] for m in messages)
    assert subjects == sorted([f"Заказ {ref} принят", f"Заказ {ref} оплачен"])
    placed_text = next(m["Text"] for m in messages if "принят" in m["Subject"])
    # Babel's ru_RU: a no-break space groups thousands, a comma before kopecks.
    assert "1\xa0234,50\xa0₽" in placed_text
    month = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
             "сентября", "октября", "ноября", "декабря")[datetime.now(UTC).month - 1]  # fmt: skip
    assert month in placed_text


async def test_a_redelivered_event_sends_no_second_email(
    app: FastAPI,
    kafka: Kafka,
    backing: Backing,
    mail: MailpitReader,
    user_factory: Callable[[], User],
) -> None:
    user = user_factory()
    placed = order_placed(user)
    [event] = await send_order_events(kafka, backing.orders_topic, [(placed, None)])
    await mail.wait_for(user.email)
    store = container_of(app).get(Notifier).store
    await _settled(store, event.id, user)

    # The same event (same id) again, as Kafka redelivers after a lost commit, and a
    # cancellation after it: the cancellation's e-mail proves the redelivery was handled.
    cancelled = OrderCancelled(order_id=placed.order_id, reason="customer", paid=False)
    await send_order_events(kafka, backing.orders_topic, [(placed, event.id), (cancelled, None)])
    messages = await mail.wait_for(user.email, count=2)
    await asyncio.sleep(1.0)  # anything late would arrive by now
    messages = mail.messages_to(user.email)
    subjects = sorted(m["Subject"] for m in messages)
    ref = str(placed.order_id)[:8].upper()
    assert subjects == [f"Order {ref} received", f"Order {ref} was cancelled"]


async def test_notifying_twice_directly_sends_once(
    app: FastAPI, mail: MailpitReader, user_factory: Callable[[], User]
) -> None:
    user = user_factory()
    notifier = container_of(app).get(Notifier)
    facts = OrderFacts(order_id=str(uuid.uuid4()), at=datetime.now(UTC))
    event_id = uuid.uuid4()
    first, second = await asyncio.gather(
        notifier.notify(event_id, "order_paid", user.id, facts),
        notifier.notify(event_id, "order_paid", user.id, facts),
    )
    assert sorted([first["email"], second["email"]]) == ["duplicate", "sent"]
    assert sorted([first["inapp"], second["inapp"]]) == ["duplicate", "sent"]
    await mail.wait_for(user.email)
    await asyncio.sleep(0.5)
    assert len(mail.messages_to(user.email)) == 1


async def test_a_claim_left_by_a_crashed_sender_is_not_sent_again(  # noqa: PLR0917 (fixtures)
    app: FastAPI,
    client: httpx.AsyncClient,
    kafka: Kafka,
    backing: Backing,
    mail: MailpitReader,
    user_factory: Callable[[], User],
) -> None:
    """A replica claimed the e-mail and died before the SMTP server answered: after the
    restart the event comes again, and the e-mail stays unsent (at most once)."""
    user = user_factory()
    store = container_of(app).get(Notifier).store
    placed = order_placed(user)
    event_id = uuid.uuid4()
    assert await store.claim(event_id, str(user.id), "email", "dead-replica", datetime.now(UTC))

    await send_order_events(kafka, backing.orders_topic, [(placed, event_id)])
    # The in-app message is the event's other delivery: once it is there, the event
    # was handled.
    for _ in range(300):
        inbox = (await client.get("/api/notifications", headers=bearer(user.token))).json()
        if inbox["items"]:
            break
        await asyncio.sleep(0.1)
    assert len(inbox["items"]) == 1
    await asyncio.sleep(1.0)
    assert mail.messages_to(user.email) == []
    assert await store.claim_status(event_id, str(user.id), "email") == "claimed"
