"""Two replicas sharing Cassandra, Redis and Kafka: a write on one becomes searchable on
the other through the events topic, and a replica that starts later loads what exists."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from productstore_catalog.app.core.config import CatalogSettings
from tests.catalog.support import (
    Tokens,
    asgi_client,
    bearer,
    create_category,
    create_product,
    running_app,
)

pytestmark = pytest.mark.anyio

DEADLINE_SECONDS = 60.0


@pytest.fixture(scope="module")
async def replica_b(settings: CatalogSettings, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second replica (its own consumer group, index, relay) of the same store."""
    async with running_app(settings) as second, asgi_client(second) as client_b:
        yield client_b


async def _ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get("/api/products/search", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def _eventually(client: httpx.AsyncClient, expected: list[str], **params: Any) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while (found := await _ids(client, **params)) != expected:
        assert time.monotonic() < deadline, f"replica B still finds {found}, not {expected}"
        await asyncio.sleep(0.2)


async def test_writes_on_a_reach_the_index_of_b(
    client: httpx.AsyncClient, replica_b: httpx.AsyncClient, tokens: Tokens
) -> None:
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug, name="Velvet slipper")
    await _eventually(replica_b, [product["id"]], q="velvet", category=slug)

    await client.patch(
        f"/api/products/{product['id']}",
        json={"name": "Wool slipper"},
        headers=bearer(tokens.admin),
    )
    await _eventually(replica_b, [product["id"]], q="wool", category=slug)
    assert await _ids(replica_b, q="velvet", category=slug) == []

    await client.delete(f"/api/products/{product['id']}", headers=bearer(tokens.admin))
    await _eventually(replica_b, [], category=slug)


async def test_a_replica_starting_later_loads_existing_products(
    client: httpx.AsyncClient, tokens: Tokens, settings: CatalogSettings
) -> None:
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug, name="Linen espadrille")
    async with running_app(settings) as late, asgi_client(late) as client_c:
        # Ready means loaded: no waiting for events.
        assert await _ids(client_c, q="espadrille", category=slug) == [product["id"]]
