"""Cached reads answered before the router (api/cached_reads), products by id and
search pages: the same answer as the route's, counted and labelled like it;
everything else still goes to the route."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from fastapi import FastAPI
from opentelemetry.trace import SpanKind

from productstore_catalog.app.api.search_pages import RenderedPage, SearchPages
from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.services.reads import CatalogReads
from productstore_common.kit import container_of
from tests.catalog.support import (
    Tokens,
    assert_problem,
    bearer,
    create_category,
    create_product,
)
from tests.common.tinyapp import capture_spans

pytestmark = pytest.mark.anyio

COMPARED_HEADERS = ("content-type", "content-length", "etag")
SEARCH = "/api/products/search"


@pytest.fixture
async def product(client: httpx.AsyncClient, tokens: Tokens) -> dict[str, Any]:
    return await create_product(client, tokens.admin, await create_category(client, tokens.admin))


@pytest.fixture
def route_disabled(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The route's read fails while this is active: an answer then came from the
    fast path."""
    reads = container_of(app).get(CatalogReads)

    async def no_route(product_id: uuid.UUID, cached: object = None) -> tuple[int, bytes]:
        raise AssertionError(f"the route read {product_id}")

    monkeypatch.setattr(reads, "product_document", no_route)
    yield


def _headers(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in COMPARED_HEADERS}


async def test_a_hit_is_answered_as_the_route_answers(  # noqa: PLR0917 (fixtures)
    app: FastAPI,
    client: httpx.AsyncClient,
    product: dict[str, Any],
    settings: CatalogSettings,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"/api/products/{product['id']}"
    await redis_client.delete(f"{settings.redis_key_prefix}:product:{product['id']}")
    by_route = await client.get(url)  # a miss: the route reads Cassandra, fills the cache
    assert by_route.status_code == 200

    async def no_route(product_id: uuid.UUID, cached: object = None) -> tuple[int, bytes]:
        raise AssertionError(f"the route read {product_id}")

    monkeypatch.setattr(container_of(app).get(CatalogReads), "product_document", no_route)
    cached = await client.get(url)
    assert cached.status_code == 200
    assert cached.content == by_route.content
    assert _headers(cached) == _headers(by_route)
    assert cached.headers["etag"] == f'"{product["version"]}"'
    assert cached.headers["x-request-id"]  # the middleware around it still ran
    assert cached.headers["traceresponse"].startswith("00-")


@pytest.mark.usefixtures("route_disabled")
async def test_head_has_the_headers_and_no_body(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    url = f"/api/products/{product['id']}"
    got = await client.get(url)
    head = await client.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert _headers(head) == _headers(got)


async def test_hits_are_counted_under_the_route_template(
    app: FastAPI, client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    def reads() -> float:
        metrics = app.state.metrics
        value = metrics.registry.get_sample_value(
            "http_requests_total",
            {
                "service": metrics.service,
                "method": "GET",
                "route": "/api/products/{product_id}",
                "status": "200",
            },
        )
        return value or 0.0

    def hits() -> float:
        value = app.state.metrics.registry.get_sample_value(
            "catalog_product_cache_reads_total", {"outcome": "hit"}
        )
        return value or 0.0

    before, hits_before = reads(), hits()
    for _ in range(3):
        assert (await client.get(f"/api/products/{product['id']}")).status_code == 200
    assert reads() == before + 3
    assert hits() == hits_before + 3


async def test_other_spellings_and_paths_go_to_the_route(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    canonical = await client.get(f"/api/products/{product['id']}")
    upper = await client.get(f"/api/products/{product['id'].upper()}")
    assert upper.status_code == 200
    assert upper.content == canonical.content
    compact = await client.get(f"/api/products/{uuid.UUID(product['id']).hex}")
    assert compact.status_code == 200
    assert compact.content == canonical.content
    not_an_id = await client.get("/api/products/" + "z" * 36)
    assert_problem(not_an_id, 422)
    assert (await client.get(f"/api/products/{product['id']}/")).status_code != 200
    missing = await client.get(f"/api/products/{uuid.uuid4()}")
    assert_problem(missing, 404)


async def test_writes_are_not_answered_from_the_cache(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    # An anonymous DELETE of a cached product reaches the route: 401, not the document.
    response = await client.delete(f"/api/products/{product['id']}")
    assert_problem(response, 401)


async def test_a_repeated_search_is_answered_as_the_route_answers(
    app: FastAPI,
    client: httpx.AsyncClient,
    product: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = {"q": "trail runner", "category": product["category"], "sort_by": "price_desc"}
    by_route = await client.get(SEARCH, params=params)
    assert by_route.status_code == 200
    assert [item["id"] for item in by_route.json()["items"]] == [product["id"]]

    def no_route(*args: object) -> tuple[int, bytes]:
        raise AssertionError("the route rendered the page")

    monkeypatch.setattr(container_of(app).get(CatalogReads), "search_page", no_route)
    cached = await client.get(SEARCH, params=params)
    assert cached.status_code == 200
    assert cached.content == by_route.content
    assert {k: cached.headers[k] for k in ("content-type", "content-length")} == {
        k: by_route.headers[k] for k in ("content-type", "content-length")
    }
    head = await client.head(SEARCH, params=params)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == by_route.headers["content-length"]


async def test_searches_the_route_refuses_are_refused_every_time(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(2):
        assert_problem(await client.get(SEARCH, params={"limit": 0}), 422)
        assert_problem(await client.get(SEARCH, params={"cursor": "forged"}), 400)


async def test_a_write_reaches_the_next_search_at_once(
    client: httpx.AsyncClient, tokens: Tokens, product: dict[str, Any]
) -> None:
    params = {"q": "runner", "category": product["category"]}
    before = (await client.get(SEARCH, params=params)).json()
    assert before["total"] == 1
    assert (await client.get(SEARCH, params=params)).json() == before  # cached now
    await client.patch(
        f"/api/products/{product['id']}", json={"name": "Road sandal"}, headers=bearer(tokens.admin)
    )
    assert (await client.get(SEARCH, params=params)).json()["total"] == 0


async def test_the_server_span_says_where_the_answer_came_from(
    app: FastAPI, client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    exporter = capture_spans(app)
    url = f"/api/products/{product['id']}"
    assert (await client.get(url)).status_code == 200
    params = {"q": "runner", "category": product["category"]}
    for _ in range(2):
        assert (await client.get(SEARCH, params=params)).status_code == 200
    exporter.shutdown()
    # The outbox relay may publish the fixture's product meanwhile (a producer span).
    spans = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert [(span.name, (span.attributes or {}).get("productstore.cache")) for span in spans] == [
        ("GET /api/products/{product_id}", "redis"),
        ("GET /api/products/search", None),  # rendered by the route
        ("GET /api/products/search", "search_pages"),
    ]


async def test_a_miss_reads_the_cache_once(  # noqa: PLR0917 (fixtures)
    app: FastAPI,
    client: httpx.AsyncClient,
    product: dict[str, Any],
    settings: CatalogSettings,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The route goes on from the middleware's cache read, not a second GET."""
    cache = container_of(app).get(CatalogReads).cache
    reads: list[uuid.UUID] = []
    get_document = cache.get_document

    async def counted(product_id: uuid.UUID) -> Any:
        reads.append(product_id)
        return await get_document(product_id)

    monkeypatch.setattr(cache, "get_document", counted)
    await redis_client.delete(f"{settings.redis_key_prefix}:product:{product['id']}")
    assert (await client.get(f"/api/products/{product['id']}")).status_code == 200  # a miss
    assert reads == [uuid.UUID(product["id"])]
    assert (await client.get(f"/api/products/{product['id']}")).status_code == 200  # a hit
    assert len(reads) == 2


def _page_lookups(app: FastAPI) -> dict[str, float]:
    registry = app.state.metrics.registry
    return {
        outcome: registry.get_sample_value(
            "catalog_search_page_cache_lookups_total", {"outcome": outcome}
        )
        or 0.0
        for outcome in ("hit", "miss")
    }


@pytest.mark.parametrize(
    ("params", "status", "counted"),
    [
        ({"q": "runner", "sort_by": "newest"}, 200, {"hit": 1.0, "miss": 1.0}),
        ({"cursor": "forged", "sort_by": "name"}, 400, {"hit": 0.0, "miss": 2.0}),
        ({"limit": "0"}, 422, {"hit": 0.0, "miss": 0.0}),  # refused before any lookup
    ],
)
async def test_a_search_looks_its_page_up_once(  # noqa: PLR0917 (fixtures)
    app: FastAPI,
    client: httpx.AsyncClient,
    product: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    params: dict[str, str],
    status: int,
    counted: dict[str, float],
) -> None:
    """Asked twice: the first is a miss that the route renders without a second
    lookup, the second a hit (a page the route refuses is never kept)."""
    pages = container_of(app).get(SearchPages).pages
    lookups: list[object] = []
    get = pages.get

    def looked_up(key: object) -> RenderedPage | None:
        lookups.append(key)
        return get(key)

    monkeypatch.setattr(pages, "get", looked_up)
    before = _page_lookups(app)
    for _ in range(2):
        assert (
            await client.get(SEARCH, params={**params, "category": product["category"]})
        ).status_code == status
    assert len(lookups) == 2
    after = _page_lookups(app)
    assert {k: after[k] - before[k] for k in after} == counted


async def test_pages_of_an_older_index_are_dropped(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens, product: dict[str, Any]
) -> None:
    search_pages = container_of(app).get(SearchPages)
    for q in ("runner", "trail"):
        assert (await client.get(SEARCH, params={"q": q})).status_code == 200
    assert len(search_pages.pages) >= 2
    patched = await client.patch(
        f"/api/products/{product['id']}", json={"name": "Road sandal"}, headers=bearer(tokens.admin)
    )
    assert patched.status_code == 200
    before = _page_lookups(app)
    assert (await client.get(SEARCH, params={"q": "runner"})).json()["total"] >= 0
    assert _page_lookups(app)["miss"] == before["miss"] + 1
    assert len(search_pages.pages) == 1  # the page rendered now; the older ones are gone
