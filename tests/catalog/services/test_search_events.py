"""The index's event handler: it applies the product as Cassandra has it, so stale,
duplicated and replayed events cannot move the index backwards."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from productstore_catalog.app.data.documents import product_from_json
from productstore_catalog.app.services.search import ProductSearch
from productstore_catalog.search import SearchQuery
from productstore_common.events import new_event
from productstore_common.kit import container_of
from productstore_contracts.events.catalog import (
    CATALOG_SOURCE,
    ProductCreated,
    ProductDeleted,
    ProductUpdated,
)
from tests.catalog.support import Tokens, bearer, create_category, create_product
from tests.support.metrics import scrape

pytestmark = pytest.mark.anyio


def _search(app: FastAPI) -> ProductSearch:
    return container_of(app).get(ProductSearch)


def _ids(app: FastAPI, category: str, q: str | None = None) -> list[str]:
    result = _search(app).search(SearchQuery(q=q, category=category, limit=100))
    return [str(hit.id) for hit in result.hits]


def _created(product_id: uuid.UUID, version: int, name: str, category: str) -> ProductCreated:
    return ProductCreated(
        product_id=product_id,
        version=version,
        name=name,
        category=category,
        price=Decimal("1.00"),
        currency="EUR",
        in_stock=True,
    )


async def test_a_stale_event_applies_the_current_row(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug, name="Current name")
    product_id = uuid.UUID(product["id"])
    stale = _created(product_id, 1, "Ancient name", slug)
    await _search(app).on_event(new_event(stale, source=CATALOG_SOURCE, subject=product["id"]))
    assert _ids(app, slug, q="current") == [product["id"]]
    assert _ids(app, slug, q="ancient") == []


async def test_a_replayed_create_does_not_resurrect_a_deleted_product(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug)
    product_id = uuid.UUID(product["id"])
    await client.delete(f"/api/products/{product['id']}", headers=bearer(tokens.admin))
    assert _ids(app, slug) == []
    for payload in (
        _created(product_id, product["version"], "Ghost", slug),
        ProductUpdated(
            product_id=product_id,
            version=product["version"] + 1,
            name="Ghost",
            category=slug,
            price=Decimal("1.00"),
            currency="EUR",
            in_stock=True,
            changed=["name"],
        ),
    ):
        await _search(app).on_event(
            new_event(payload, source=CATALOG_SOURCE, subject=product["id"])
        )
    assert _ids(app, slug) == []


async def test_a_delete_event_for_a_product_that_exists_again_is_ignored(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    """A ProductDeleted redelivered late: the row is there, so the row wins."""
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug)
    deleted = ProductDeleted(product_id=uuid.UUID(product["id"]), version=1)
    await _search(app).on_event(new_event(deleted, source=CATALOG_SOURCE, subject=product["id"]))
    assert _ids(app, slug) == [product["id"]]


async def test_documents_follow_the_index_versions(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    """The documents search pages are built from keep the largest version, as the index
    does: an older write applied late changes neither, a removal drops both."""
    search = _search(app)
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug, name="Current name")
    product_id = uuid.UUID(product["id"])
    document = search.document(product_id)
    assert document is not None
    current = product_from_json(document)
    assert current.name == "Current name"

    search.apply(replace(current, name="Older name", version=current.version - 1))
    assert search.document(product_id) == document
    assert _ids(app, slug, q="older") == []

    search.remove(product_id, current.version + 1)
    assert search.document(product_id) is None
    assert _ids(app, slug) == []
    search.apply(replace(current, name="Revived", version=current.version))
    assert search.document(product_id) is None
    assert _ids(app, slug) == []

    search.apply(replace(current, name="Recreated", version=current.version + 2))
    recreated = search.document(product_id)
    assert recreated is not None
    assert product_from_json(recreated).name == "Recreated"
    assert _ids(app, slug, q="recreated") == [product["id"]]


async def test_only_a_change_of_the_index_advances_its_generation(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    """Pages rendered on a generation stay valid until the index changes: the held
    version again (the event of this replica's own write) or an older one is none."""
    search = _search(app)
    product = await create_product(
        client, tokens.admin, await create_category(client, tokens.admin)
    )
    document = search.document(uuid.UUID(product["id"]))
    assert document is not None
    current = product_from_json(document)
    generation = search.generation
    search.apply(current)
    search.apply(replace(current, name="Older name", version=current.version - 1))
    assert search.generation == generation
    search.apply(replace(current, name="Newer name", version=current.version + 1))
    assert search.generation == generation + 1
    search.remove(current.id, current.version + 2)
    assert search.generation == generation + 2


async def test_the_gauge_counts_the_index(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    await create_product(client, tokens.admin, await create_category(client, tokens.admin))
    exported = await scrape(client)
    assert exported.value("catalog_search_indexed_products") == len(_search(app))


async def test_readiness_includes_the_index(client: httpx.AsyncClient) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["search_index"]["status"] == "ok"
