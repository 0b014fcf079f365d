"""The wishlist's notices through Kafka become one e-mail in Mailpit (in the user's
language, naming the product as the catalog does, with RFC 8058 unsubscribe headers) and
one inbox entry; a notice published
twice (the same id) sends nothing more; opting out of a topic's e-mail keeps the inbox."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.kafka import Kafka
from productstore_common.kit.container import container_of
from productstore_contracts.events.wishlist import WishlistBackInStock, WishlistPriceDropped
from productstore_notifications.app.services.notifier import Notifier
from productstore_notifications.app.services.unsubscribe import Unsubscribes
from tests.notifications.chat import Product
from tests.notifications.support import (
    Backing,
    MailpitReader,
    User,
    inbox_with,
    send_wishlist_notices,
)
from tests.support.problems import bearer

pytestmark = pytest.mark.anyio


def _drop(user: User, product_id: uuid.UUID | None = None) -> WishlistPriceDropped:
    return WishlistPriceDropped(
        user_id=user.id,
        product_id=product_id or uuid.uuid4(),
        wishlist_id=uuid.uuid4(),
        audience="follower",
        day=datetime.now(UTC).date(),
        old_price=Decimal("2499.00"),
        new_price=Decimal("1999.90"),
        currency="EUR",
    )


async def test_a_price_drop_mails_once_with_a_working_unsubscribe_link(  # noqa: PLR0917 (fixtures)
    app: FastAPI,
    client: httpx.AsyncClient,
    kafka: Kafka,
    backing: Backing,
    mail: MailpitReader,
    user_factory: Callable[[], User],
) -> None:
    user = user_factory()
    drop = _drop(user)
    [event] = await send_wishlist_notices(kafka, backing.wishlist_topic, [(drop, None)])
    # The same notice again, as the wishlist republishes it after a crash (same id).
    await send_wishlist_notices(kafka, backing.wishlist_topic, [(drop, event.id)])

    [message] = await mail.wait_for(user.email)
    assert message["Subject"] == "A product on your wishlist now costs €1,999.90"
    assert "from €2,499.00 to €1,999.90" in message["Text"]
    assert str(drop.product_id)[:8].upper() in message["Text"]
    headers = mail.headers(message)
    assert headers["List-Unsubscribe-Post"] == ["List-Unsubscribe=One-Click"]
    [link] = headers["List-Unsubscribe"]
    url = link.strip("<>")
    assert url.startswith("http://shop.test/api/notifications/unsubscribe?token=")
    assert url in message["Text"]
    [item] = await inbox_with(client, user)
    assert item["topic"] == "price_drop"

    # The link works as a mail client follows it: the POST mutes price-drop e-mail only.
    [token] = parse_qs(urlsplit(url).query)["token"]
    posted = await client.post(
        "/api/notifications/unsubscribe",
        params={"token": token},
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["topic"] == "price_drop"
    preferences = (
        await client.get("/api/notifications/preferences", headers=bearer(user.token))
    ).json()
    assert preferences["opt_outs"] == [{"topic": "price_drop", "channel": "email"}]

    # The next drop (another product) reaches the inbox, not the mailbox.
    await send_wishlist_notices(kafka, backing.wishlist_topic, [(_drop(user), None)])
    await inbox_with(client, user, 2)
    await asyncio.sleep(1.0)  # a late e-mail would be there by now
    assert len(mail.messages_to(user.email)) == 1
    assert container_of(app).get(Unsubscribes) is not None


async def test_back_in_stock_speaks_russian_to_russian_users(  # noqa: PLR0917 (fixtures)
    app: FastAPI,
    client: httpx.AsyncClient,
    kafka: Kafka,
    backing: Backing,
    mail: MailpitReader,
    user_factory: Callable[[], User],
    product: Product,
) -> None:
    user = user_factory()
    put = await client.put(
        "/api/notifications/preferences", json={"locale": "ru"}, headers=bearer(user.token)
    )
    assert put.status_code == 200, put.text
    back = WishlistBackInStock(
        user_id=user.id,
        product_id=product.id,
        wishlist_id=uuid.uuid4(),
        audience="owner",
        day=date.today(),
        available=3,
        wave=1,
    )
    [event] = await send_wishlist_notices(kafka, backing.wishlist_topic, [(back, None)])
    [message] = await mail.wait_for(user.email)
    assert message["Subject"] == "Товар из вашего списка желаний снова в продаже"
    assert "в наличии 3" in message["Text"]
    # The notice names the product by id; the message by the catalog's name.
    assert f"Товар «{product.name}» из вашего списка желаний" in message["Text"]
    [item] = await inbox_with(client, user)
    assert f"«{product.name}»" in str(item["body"])
    assert "Отписаться от этих писем" in message["Text"]
    store = container_of(app).get(Notifier).store
    assert await store.claim_status(event.id, str(user.id), "email") == "sent"
    assert await store.claim_status(event.id, str(user.id), "inapp") == "sent"
