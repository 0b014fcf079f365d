"""Product writes produce the right events on the real Kafka topic, through the outbox
and the in-process relay."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]

from devstack.components.kafka import Kafka
from productstore_catalog.app.core.config import CatalogSettings
from tests.catalog.support import Tokens, bearer, create_category, create_product
from tests.support.contracts import check_published

pytestmark = pytest.mark.anyio

DEADLINE_SECONDS = 60.0


@pytest.fixture
async def consumer(kafka: Kafka, settings: CatalogSettings) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer of the session's topic from its start, in a group of its own."""
    reader = AIOKafkaConsumer(
        settings.events_topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=f"catalog-test-{uuid.uuid4().hex[:12]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    try:
        yield reader
    finally:
        await reader.stop()


async def _events_of(
    consumer: AIOKafkaConsumer, subject: str, count: int
) -> list[tuple[dict[str, Any], dict[str, bytes]]]:
    """The first `count` events keyed by `subject`, with their headers; bounded wait."""
    found: list[tuple[dict[str, Any], dict[str, bytes]]] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    while len(found) < count:
        assert time.monotonic() < deadline, f"only {len(found)} of {count} events: {found}"
        batches = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            for record in records:
                if record.key == subject.encode():
                    found.append((check_published(record.value), dict(record.headers)))
        await asyncio.sleep(0)
    return found


async def test_a_product_life_as_events(
    client: httpx.AsyncClient, tokens: Tokens, consumer: AIOKafkaConsumer
) -> None:
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug, price="50.00")
    url = f"/api/products/{product['id']}"
    renamed = await client.patch(url, json={"name": "Renamed"}, headers=bearer(tokens.admin))
    repriced = await client.patch(url, json={"price": "45.50"}, headers=bearer(tokens.admin))
    assert (await client.delete(url, headers=bearer(tokens.admin))).status_code == 204

    events = await _events_of(consumer, product["id"], 5)
    types = [event["type"] for event, _ in events]
    assert types == [
        "productstore.catalog.ProductCreated.v1",
        "productstore.catalog.ProductUpdated.v1",
        "productstore.catalog.ProductUpdated.v1",
        "productstore.catalog.PriceChanged.v1",
        "productstore.catalog.ProductDeleted.v1",
    ]
    created, renamed_event, repriced_event, price_changed, deleted = (e for e, _ in events)
    for event, headers in events:
        assert event["specversion"] == "1.0"
        assert event["source"] == "/productstore/catalog"
        assert event["subject"] == product["id"]
        assert headers["ce_type"].decode() == event["type"]
        assert headers["ce_id"].decode() == event["id"]
    assert created["data"]["name"] == "Trail runner"
    assert created["data"]["price"] == "50.00"
    assert created["data"]["version"] == product["version"]
    assert renamed_event["data"]["changed"] == ["name"]
    assert renamed_event["data"]["version"] == renamed.json()["version"]
    assert repriced_event["data"]["changed"] == ["price"]
    assert price_changed["data"]["old_price"] == "50.00"
    assert price_changed["data"]["new_price"] == "45.50"
    assert price_changed["data"]["currency"] == "EUR"
    assert price_changed["data"]["old_currency"] is None
    assert price_changed["data"]["version"] == repriced.json()["version"]
    assert deleted["data"]["version"] > repriced.json()["version"]
    assert len({event["id"] for event, _ in events}) == 5


async def test_a_currency_change_is_a_price_change(
    client: httpx.AsyncClient, tokens: Tokens, consumer: AIOKafkaConsumer
) -> None:
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug, price="50.00")
    await client.patch(
        f"/api/products/{product['id']}", json={"currency": "USD"}, headers=bearer(tokens.admin)
    )
    events = await _events_of(consumer, product["id"], 3)
    price_changed = events[2][0]
    assert price_changed["type"] == "productstore.catalog.PriceChanged.v1"
    assert price_changed["data"]["old_currency"] == "EUR"
    assert price_changed["data"]["currency"] == "USD"
