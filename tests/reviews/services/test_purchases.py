"""Verified purchases from the orders topic: OrderDelivered through Kafka into the
running consumer marks (user, product) as received, so that user's review of that
product says `verified_purchase: true`; the topic's other order events are passed
over, and nobody else's review (nor the user's of another product) is verified."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI

from devstack.components.kafka import Kafka
from productstore_common.telemetry.metrics import metrics_of
from productstore_contracts.events.orders import (
    OrderDelivered,
    OrderFulfilled,
    OrderLine,
    OrderReserved,
)
from productstore_reviews.app.core.config import ReviewsSettings
from tests.inventory.support import send_order_events
from tests.support.problems import bearer

pytestmark = pytest.mark.anyio

TEXT = "Sturdy and quiet, it does exactly what the box says it does."


def _user_id(token: str) -> uuid.UUID:
    return uuid.UUID(jwt.decode(token, options={"verify_signature": False})["sub"])


def _consumed(app: FastAPI, settings: ReviewsSettings, outcome: str) -> float:
    labels = {"group": settings.consumer_group, "outcome": outcome}
    return metrics_of(app).registry.get_sample_value("events_consumed_total", labels) or 0.0


async def _review(client: httpx.AsyncClient, token: str, product: uuid.UUID) -> bool:
    created = await client.post(
        "/api/reviews",
        json={"product_id": str(product), "rating": 4, "title": "", "body": TEXT},
        headers=bearer(token),
    )
    assert created.status_code == 201, created.text
    verified: bool = created.json()["verified_purchase"]
    return verified


async def test_a_review_of_a_delivered_product_is_a_verified_purchase(
    app: FastAPI,
    client: httpx.AsyncClient,
    kafka: Kafka,
    settings: ReviewsSettings,
    new_user: Callable[[], str],
) -> None:
    buyer, other = new_user(), new_user()
    user = _user_id(buyer)
    bought, twice, not_bought = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    order = uuid.uuid4()
    lines = [OrderLine(product_id=p, quantity=1) for p in (bought, twice, twice)]
    hold = datetime.now(UTC) + timedelta(minutes=10)
    handled = _consumed(app, settings, "handled")
    skipped = _consumed(app, settings, "skipped")
    await send_order_events(
        kafka,
        settings.orders_topic,
        [
            (OrderReserved(order_id=order, user_id=user, hold_expires_at=hold), None),
            (OrderFulfilled(order_id=order, user_id=user, lines=lines), None),
            (OrderDelivered(order_id=order, user_id=user, lines=lines), None),
        ],
    )
    deadline = time.monotonic() + 60
    while (
        _consumed(app, settings, "handled") < handled + 1
        or _consumed(app, settings, "skipped") < skipped + 2
    ):
        assert time.monotonic() < deadline, "the consumer did not take the order events"
        await asyncio.sleep(0.2)
    assert _consumed(app, settings, "dead_lettered") == 0

    assert await _review(client, buyer, bought) is True
    assert await _review(client, buyer, twice) is True
    assert await _review(client, buyer, not_bought) is False
    assert await _review(client, other, bought) is False
