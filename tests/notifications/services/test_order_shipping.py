"""OrderFulfilled and OrderDelivered through Kafka become e-mails (with the total when the
order was seen placed, in the user's language), without an unsubscribe link: they are
about the user's own order."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi import FastAPI

from devstack.components.kafka import Kafka
from productstore_contracts.events.orders import (
    OrderDelivered,
    OrderFulfilled,
    OrderLine,
)
from tests.notifications.support import (
    Backing,
    MailpitReader,
    User,
    order_placed,
    send_order_events,
)

pytestmark = pytest.mark.anyio


async def test_shipped_and_delivered_orders_are_mailed(
    app: FastAPI,
    kafka: Kafka,
    backing: Backing,
    mail: MailpitReader,
    user_factory: Callable[[], User],
) -> None:
    user = user_factory()
    placed = order_placed(user, total="10", quantity=1)
    lines = placed.lines
    fulfilled = OrderFulfilled(order_id=placed.order_id, user_id=user.id, lines=lines)
    delivered = OrderDelivered(order_id=placed.order_id, user_id=user.id, lines=lines)
    await send_order_events(
        kafka, backing.orders_topic, [(placed, None), (fulfilled, None), (delivered, None)]
    )

    messages = await mail.wait_for(user.email, count=3)
    ref = str(placed.order_id)[:8].upper()
    by_subject = {m["Subject"]: m for m in messages}
    assert set(by_subject) == {
        f"Order {ref} received",
        f"Order {ref} has shipped",
        f"Order {ref} was delivered",
    }
    assert "left our warehouse" in by_subject[f"Order {ref} has shipped"]["Text"]
    for message in messages:
        assert "List-Unsubscribe" not in mail.headers(message)


async def test_a_delivery_of_an_order_never_seen_placed_still_reaches_its_owner(
    app: FastAPI,
    kafka: Kafka,
    backing: Backing,
    mail: MailpitReader,
    user_factory: Callable[[], User],
) -> None:
    """OrderDelivered names the owner itself: no OrderPlaced is needed (the total is)."""
    user = user_factory()
    delivered = OrderDelivered(
        order_id=uuid.uuid4(),
        user_id=user.id,
        lines=[OrderLine(product_id=uuid.uuid4(), quantity=2)],
    )
    await send_order_events(kafka, backing.orders_topic, [(delivered, None)])
    [message] = await mail.wait_for(user.email)
    assert message["Subject"] == f"Order {str(delivered.order_id)[:8].upper()} was delivered"
