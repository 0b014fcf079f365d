"""A product's rating follows ReviewPublished/ReviewRemoved on the real Kafka topic, and
duplicates, replays and late (older) versions of a review change nothing: each review's
newest state is kept by its version and the rating is computed from all of them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from fastapi import FastAPI

from devstack.components.kafka import Kafka
from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.data.ratings import ReviewState
from productstore_catalog.app.services.catalog import Catalog
from productstore_common.events import new_event, to_kafka_record
from productstore_common.kit import container_of
from productstore_contracts.events import EventPayload
from productstore_contracts.events.reviews import REVIEWS_SOURCE, ReviewPublished, ReviewRemoved
from tests.catalog.support import Tokens, create_category, create_product

pytestmark = pytest.mark.anyio

DEADLINE_SECONDS = 60.0


@pytest.fixture(scope="module")
async def producer(kafka: Kafka) -> AsyncIterator[AIOKafkaProducer]:
    sender = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await sender.start()
    try:
        yield sender
    finally:
        await sender.stop()


async def _send(
    producer: AIOKafkaProducer,
    topic: str,
    payloads: list[EventPayload],
    *,
    product_id: uuid.UUID,
    event_id: uuid.UUID | None = None,
) -> None:
    for payload in payloads:
        event = new_event(payload, source=REVIEWS_SOURCE, subject=str(product_id), id=event_id)
        record = to_kafka_record(event)
        await producer.send_and_wait(topic, record.value, key=record.key, headers=record.headers)


def _published(product: uuid.UUID, review: uuid.UUID, rating: int, version: int) -> ReviewPublished:
    return ReviewPublished(
        review_id=review,
        product_id=product,
        version=version,
        user_id=uuid.uuid4(),
        rating=rating,
        verified_purchase=False,
    )


async def _wait_rating(
    client: httpx.AsyncClient, product_id: str, rating: dict[str, Any]
) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        product: dict[str, Any] = (await client.get(f"/api/products/{product_id}")).json()
        if product["rating"] == rating:
            return product
        assert time.monotonic() < deadline, (product["rating"], rating)
        await asyncio.sleep(0.1)


async def test_the_rating_keeps_each_reviews_newest_state(
    client: httpx.AsyncClient,
    tokens: Tokens,
    producer: AIOKafkaProducer,
    settings: CatalogSettings,
) -> None:
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug)
    product_id = uuid.UUID(product["id"])
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    topic = settings.reviews_topic
    await _send(
        producer,
        topic,
        [
            _published(product_id, first, 5, 10),
            _published(product_id, second, 2, 10),
            _published(product_id, third, 4, 10),
            # The third is edited to a 3, then that edit's events arrive again.
            _published(product_id, third, 3, 20),
            _published(product_id, third, 3, 20),
            # A late (older) state of the first: changes nothing.
            _published(product_id, first, 1, 5),
            ReviewRemoved(review_id=second, product_id=product_id, version=30, reason="deleted"),
        ],
        product_id=product_id,
    )
    await _wait_rating(client, product["id"], {"average": 4.0, "count": 2})
    # The removed review published again with an older version stays removed.
    await _send(producer, topic, [_published(product_id, second, 5, 25)], product_id=product_id)
    # A newer one of another review shows the older one was taken in and ignored.
    fourth = uuid.uuid4()
    await _send(producer, topic, [_published(product_id, fourth, 1, 40)], product_id=product_id)
    shown = await _wait_rating(client, product["id"], {"average": 3.0, "count": 3})
    assert shown["version"] > product["version"]


async def test_an_admin_edit_takes_a_rating_that_raced_it(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    """A review state recorded while an admin's PATCH was on its way (no product write
    of its own yet) is in the product the PATCH writes: the PATCH syncs the rating."""
    catalog = container_of(app).get(Catalog)
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug)
    product_id = uuid.UUID(product["id"])
    await catalog.ratings.record(
        ReviewState(
            product_id=product_id, review_id=uuid.uuid4(), rating=4, published=True, version=1
        )
    )
    changed = await client.patch(
        f"/api/products/{product['id']}",
        json={"name": "Renamed"},
        headers={"Authorization": f"Bearer {tokens.admin}"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["rating"] == {"average": 4.0, "count": 1}
