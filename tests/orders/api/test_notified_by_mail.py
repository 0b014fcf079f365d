"""An order placed through the gateway reaches its owner as exactly one e-mail, in the
owner's language: orders (behind devstack's gateway config) publishes OrderPlaced, the
notifications service consumes the module's order topic, asks auth for the address and
sends to Mailpit. (The test waits for the placement's only: the payment's e-mail would
make it wait on the shared payment sandbox, which other sessions start and stop.)"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.mailpit import Mailpit
from devstack.components.redis import Redis
from productstore_contracts.services import ORDERS
from productstore_notifications.app.data import migrations_dir
from productstore_notifications.app.main import create_app as create_notifications_app
from productstore_orders.app.core.config import OrdersSettings
from productstore_orders.app.main import create_app
from tests.auth.support import CONTACTS_SECRET
from tests.catalog.support import AuthServer, asgi_client, serve_in_thread, wait_ready
from tests.notifications.support import (
    Backing as NotificationsBacking,
)
from tests.notifications.support import (
    MailpitReader,
    new_user,
    notifications_settings,
)
from tests.orders.support import Backing, Shop, bearer, checkout_body
from tests.support.gateway import private_gateway
from tests.support.keyspaces import async_topics, migrated_keyspace

pytestmark = pytest.mark.anyio


async def test_an_order_through_the_gateway_mails_its_owner_once_in_russian(  # noqa: PLR0917 (fixtures)
    tmp_path: Path,
    settings: OrdersSettings,
    backing: Backing,
    shop: Shop,
    auth_server: AuthServer,
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    mailpit: Mailpit,
) -> None:
    keyspace = f"orders_notify_{backing.orders_keyspace.rsplit('_', 1)[-1]}"
    # Notifications reads the wishlist's notices too: a topic of the test's own.
    wishlist_topic = f"orders-notify-wishlist-{uuid.uuid4().hex[:12]}"
    notify = notifications_settings(
        cassandra,
        kafka,
        redis_server,
        mailpit,
        NotificationsBacking(
            keyspace=keyspace,
            orders_topic=backing.orders_topic,
            wishlist_topic=wishlist_topic,
            # Read for stock crossings, which go nowhere here (no admin chat is set),
            # and moderation outcomes (none here).
            inventory_topic=backing.inventory_topic,
            reviews_topic=backing.reviews_topic,
        ),
        auth_server.url,
        auth_client_secret=CONTACTS_SECRET,
    )
    user = new_user(auth_server.url, name="Анна")
    mail = MailpitReader(mailpit)
    product = await shop.product(price="1499.90", stock=3)
    async with async_topics(kafka, [wishlist_topic]):
        with migrated_keyspace(cassandra, keyspace, migrations_dir()):
            notifications = create_notifications_app(notify)
            async with notifications.router.lifespan_context(notifications):
                await wait_ready(notifications)
                async with asgi_client(notifications) as inbox:
                    put = await inbox.put(
                        "/api/notifications/preferences",
                        json={"locale": "ru"},
                        headers=bearer(user.token),
                    )
                    assert put.status_code == 200, put.text
                with serve_in_thread(create_app(settings)) as url:
                    port = int(url.rsplit(":", 1)[1])
                    with private_gateway(
                        tmp_path, "orders", port, ORDERS.route_prefixes
                    ) as gateway:
                        async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
                            headers = {**bearer(user.token), "Idempotency-Key": "mail-1"}
                            body = checkout_body([(product, 2)])
                            placed = await http.post("/api/orders", json=body, headers=headers)
                            assert placed.status_code == 202, placed.text
                            # The client retries: still one order, so still one e-mail.
                            again = await http.post("/api/orders", json=body, headers=headers)
                            assert again.json()["id"] == placed.json()["id"]
                            order_id = placed.json()["id"]
                            await mail.wait_for(user.email)
                            await asyncio.sleep(1.0)  # a duplicate would have arrived by now
                            messages = mail.messages_to(user.email)
    ref = order_id[:8].upper()
    subjects = [m["Subject"] for m in messages]
    # The payment's e-mail may have come too (if the sandbox was up): never twice each.
    assert len(set(subjects)) == len(subjects), subjects
    assert set(subjects) <= {f"Заказ {ref} принят", f"Заказ {ref} оплачен"}, subjects
    placed_mail = next(m for m in messages if m["Subject"] == f"Заказ {ref} принят")
    # 2 x 1499.90 in the catalog's currency, formatted for ru_RU.
    assert "2\xa0999,80" in placed_mail["Text"]
    assert placed_mail["To"][0]["Name"] == "Анна"
