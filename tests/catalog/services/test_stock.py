"""`in_stock` follows inventory's StockChanged events, published on the real Kafka topic
and consumed by two replicas sharing one stock group: the product document and both
replicas' search follow within the stated bound, and duplicates, replays and late
(older) levels change nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from fastapi import FastAPI

from devstack.components.kafka import Kafka
from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.data.clock import next_version, version_time
from productstore_catalog.app.data.products import ProductRecord
from productstore_catalog.app.data.stock import StockRecord
from productstore_catalog.app.services.catalog import Catalog
from productstore_catalog.app.services.stock import StockEvents
from productstore_common.events import CloudEvent, new_event, to_kafka_record
from productstore_common.kit import container_of
from productstore_common.telemetry.metrics import metrics_of
from productstore_contracts.events import EventPayload
from productstore_contracts.events.inventory import (
    INVENTORY_SOURCE,
    LowStock,
    StockChanged,
    StockReserved,
)
from tests.catalog.support import (
    Tokens,
    asgi_client,
    bearer,
    create_category,
    create_product,
    running_app,
)

pytestmark = pytest.mark.anyio

# The bound services/catalog/README.md states: a stock level is in the product
# document and in every replica's search within this long after inventory publishes it.
STOCK_BOUND_SECONDS = 5.0
# Waiting for what is not about timing (the consumer taking in the events at all).
DEADLINE_SECONDS = 60.0


@pytest.fixture(scope="module")
async def replica_b(settings: CatalogSettings, app: FastAPI) -> AsyncIterator[FastAPI]:
    """A second replica: its own search feed, the same stock group as the first."""
    async with running_app(settings) as second:
        yield second


@pytest.fixture(scope="module")
async def producer(kafka: Kafka) -> AsyncIterator[AIOKafkaProducer]:
    """Publishes inventory events as inventory's relay does (key = product id)."""
    sender = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await sender.start()
    try:
        yield sender
    finally:
        await sender.stop()


def stock_changed(product_id: uuid.UUID, version: int, available: int) -> StockChanged:
    return StockChanged(
        product_id=product_id,
        available=available,
        version=version,
        on_hand=available + 2,
        reserved=2,
        in_stock=available > 0,
    )


async def publish(
    producer: AIOKafkaProducer,
    topic: str,
    payload: EventPayload,
    *,
    subject: uuid.UUID,
    event_id: uuid.UUID | None = None,
) -> CloudEvent[Any]:
    event = new_event(payload, source=INVENTORY_SOURCE, subject=str(subject), id=event_id)
    record = to_kafka_record(event)
    await producer.send_and_wait(topic, record.value, key=record.key, headers=record.headers)
    return event


def consumed(apps: Sequence[FastAPI], group: str, outcome: str) -> float:
    """Events the stock group finished with `outcome`, over the replicas."""
    return sum(
        metrics_of(app).registry.get_sample_value(
            "events_consumed_total", {"group": group, "outcome": outcome}
        )
        or 0.0
        for app in apps
    )


async def _shows(client: httpx.AsyncClient, product: dict[str, Any], in_stock: bool) -> bool:
    """The product document and the search's in_stock filter both say `in_stock`."""
    document = await client.get(f"/api/products/{product['id']}")
    assert document.status_code == 200, document.text
    if document.json()["in_stock"] is not in_stock:
        return False
    for flag in (True, False):
        found = await client.get(
            "/api/products/search",
            params={"category": product["category"], "in_stock": str(flag).lower()},
        )
        assert found.status_code == 200, found.text
        ids = [item["id"] for item in found.json()["items"]]
        if (product["id"] in ids) is not (flag is in_stock):
            return False
    return True


async def wait_everywhere(
    apps: Sequence[FastAPI], product: dict[str, Any], in_stock: bool, within: float
) -> float:
    """Seconds until every replica shows `in_stock`; fails after `within`."""
    started = time.monotonic()
    clients = [asgi_client(app) for app in apps]
    try:
        while True:
            shown = [await _shows(client, product, in_stock) for client in clients]
            elapsed = time.monotonic() - started
            if all(shown):
                return elapsed
            assert elapsed < within, (
                f"in_stock={in_stock} of {product['id']} not shown by replicas "
                f"{[i for i, ok in enumerate(shown) if not ok]} after {elapsed:.2f} s"
            )
            await asyncio.sleep(0.05)
    finally:
        for client in clients:
            await client.aclose()


async def test_in_stock_follows_stock_changes_within_the_bound(
    *,
    app: FastAPI,
    replica_b: FastAPI,
    client: httpx.AsyncClient,
    tokens: Tokens,
    producer: AIOKafkaProducer,
    settings: CatalogSettings,
) -> None:
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug)
    product_id = uuid.UUID(product["id"])
    replicas = [app, replica_b]
    # The consumers may still be joining their group: the first level is allowed the
    # deadline, every later one only the bound.
    await publish(
        producer, settings.inventory_topic, stock_changed(product_id, 1, 0), subject=product_id
    )
    await wait_everywhere(replicas, product, False, DEADLINE_SECONDS)
    for version, available in [(2, 4), (3, 0), (4, 1), (5, 0), (6, 12)]:
        await publish(
            producer,
            settings.inventory_topic,
            stock_changed(product_id, version, available),
            subject=product_id,
        )
        await wait_everywhere(replicas, product, available > 0, STOCK_BOUND_SECONDS)
    final = (await client.get(f"/api/products/{product['id']}")).json()
    # Every flip was a product write of its own (version, event), nothing else changed.
    assert final["version"] > product["version"]
    assert {k: v for k, v in final.items() if k not in {"in_stock", "version", "updated_at"}} == {
        k: v for k, v in product.items() if k not in {"in_stock", "version", "updated_at"}
    }


async def test_duplicates_and_older_levels_change_nothing(
    *,
    app: FastAPI,
    replica_b: FastAPI,
    client: httpx.AsyncClient,
    tokens: Tokens,
    producer: AIOKafkaProducer,
    settings: CatalogSettings,
) -> None:
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug)
    product_id = uuid.UUID(product["id"])
    replicas = [app, replica_b]
    group = settings.stock_consumer_group
    newest = await publish(
        producer, settings.inventory_topic, stock_changed(product_id, 50, 0), subject=product_id
    )
    await wait_everywhere(replicas, product, False, DEADLINE_SECONDS)
    written = (await client.get(f"/api/products/{product['id']}")).json()
    handled, skipped = (
        consumed(replicas, group, "handled"),
        consumed(replicas, group, "skipped"),
    )

    # The same event again (inventory's relay publishing it twice), then older levels
    # arriving late (two inventory writers publishing out of order), then the topic's
    # other events for the product: none of them may move in_stock back to true.
    await publish(
        producer,
        settings.inventory_topic,
        stock_changed(product_id, 50, 0),
        subject=product_id,
        event_id=newest.id,
    )
    for version, available in [(48, 7), (49, 3)]:
        await publish(
            producer,
            settings.inventory_topic,
            stock_changed(product_id, version, available),
            subject=product_id,
        )
    await publish(
        producer,
        settings.inventory_topic,
        LowStock(product_id=product_id, available=9, version=47, threshold=10),
        subject=product_id,
    )
    deadline = time.monotonic() + DEADLINE_SECONDS
    # No dedupe store: the copy reaches the handler like the older levels (3 handled,
    # none of them a write); the LowStock is skipped without a claim.
    while (
        consumed(replicas, group, "handled") < handled + 3
        or consumed(replicas, group, "skipped") < skipped + 1
    ):
        assert time.monotonic() < deadline, "the stock group did not take in the events"
        await asyncio.sleep(0.1)
    assert consumed(replicas, group, "dead_lettered") == 0
    assert consumed(replicas, group, "duplicate") == 0
    await wait_everywhere(replicas, product, False, STOCK_BOUND_SECONDS)
    assert (await client.get(f"/api/products/{product['id']}")).json() == written
    level = await container_of(app).get(Catalog).stock.get(product_id)
    assert level == StockRecord(product_id=product_id, in_stock=False, available=0, version=50)

    # A newer level still moves it.
    await publish(
        producer, settings.inventory_topic, stock_changed(product_id, 51, 5), subject=product_id
    )
    await wait_everywhere(replicas, product, True, STOCK_BOUND_SECONDS)


async def test_a_replay_in_any_order_ends_on_the_newest_level(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    """A new deployment's group reads the topic from its start: the handler may meet a
    product's levels again, in any order, and writes nothing that is already so."""
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug)
    product_id = uuid.UUID(product["id"])
    handler = StockEvents(container_of(app).get(Catalog)).handle
    levels: list[EventPayload] = [
        stock_changed(product_id, version, available)
        for version, available in [(1, 5), (2, 0), (3, 2), (4, 0)]
    ]
    events = [new_event(p, source=INVENTORY_SOURCE, subject=str(product_id)) for p in levels]
    for event in events:
        await handler(event)
    settled = (await client.get(f"/api/products/{product['id']}")).json()
    assert settled["in_stock"] is False
    for order in (events[::-1], [events[2], events[0], events[3], events[1]], events):
        for event in order:
            await handler(event)
        assert (await client.get(f"/api/products/{product['id']}")).json() == settled


async def test_events_that_are_not_stock_levels_are_skipped(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug, in_stock=False)
    product_id = uuid.UUID(product["id"])
    handler = StockEvents(container_of(app).get(Catalog)).handle
    for payload in (
        StockReserved(
            order_id=uuid.uuid4(),
            lines=[{"product_id": product_id, "quantity": 1}],  # type: ignore[list-item]
            expires_at=version_time(next_version()),
        ),
        LowStock(product_id=product_id, available=3, version=9, threshold=5),
    ):
        await handler(new_event(payload, source=INVENTORY_SOURCE, subject=str(product_id)))
    # Inventory has not spoken for it: the admin's value stays, and is still theirs.
    assert await container_of(app).get(Catalog).stock.get(product_id) is None
    assert (await client.get(f"/api/products/{product['id']}")).json() == product


async def test_a_product_created_after_its_stock_level_takes_it(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    """The level is kept while the catalog has no such product; the product's write
    (create_product ends with the same sync_stock) then takes it."""
    slug = await create_category(client, tokens.admin)
    catalog = container_of(app).get(Catalog)
    product_id = uuid.uuid4()
    level = StockRecord(product_id=product_id, in_stock=False, available=0, version=3)
    assert await catalog.record_stock(level) is None
    version = next_version()
    created = ProductRecord(
        id=product_id,
        name="Late arrival",
        description="",
        category=slug,
        price=Decimal("10.00"),
        currency="EUR",
        in_stock=True,
        version=version,
        created_at=version_time(version),
        updated_at=version_time(version),
    )
    await catalog.products.save(created, [])
    written = await catalog.sync_stock(product_id)
    assert written is not None
    assert (written.in_stock, written.version > version) == (False, True)
    document = (await client.get(f"/api/products/{product_id}")).json()
    assert (document["in_stock"], document["version"]) == (False, written.version)
    await wait_everywhere([app], document, False, STOCK_BOUND_SECONDS)


async def test_an_admin_edit_racing_a_stock_change_ends_on_the_stock(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    """A level that lands between a PATCH's read and its write (the PATCH writes the
    row it read, in stock) is put back by the sync that ends every admin write."""
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug)
    product_id = uuid.UUID(product["id"])
    catalog = container_of(app).get(Catalog)
    # The level as the racing consumer recorded it, before its own sync ran.
    await catalog.stock.record(
        StockRecord(product_id=product_id, in_stock=False, available=0, version=8)
    )
    response = await client.patch(
        f"/api/products/{product['id']}", json={"name": "Renamed"}, headers=bearer(tokens.admin)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["in_stock"]) == ("Renamed", False)
    assert response.headers["etag"] == f'"{body["version"]}"'
    assert (await client.get(f"/api/products/{product['id']}")).json() == body
    await wait_everywhere([app], body, False, STOCK_BOUND_SECONDS)
