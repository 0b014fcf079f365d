"""Cached reads answered before FastAPI's router: products by id, search pages.

`GET /api/products/{id}` and `GET /api/products/search` are the store's hottest
requests, and once their answer is cached most of their cost was FastAPI around
it: route matching, dependency solving and parameter validation, an exit stack,
a Response object. This ASGI middleware, innermost in the service's stack
(request id, metrics, tracing and gzip still wrap it), answers a GET or HEAD
whose answer is cached:

- a canonical product id whose document is in the Redis cache;
- a search whose raw query string was rendered before on the index as it is
  (services/page_cache): the same bytes parse to the same query, so no
  validation is needed to know the page.

Everything else (a miss, a tombstone, Redis failing, a malformed id or
parameter, another route) goes on to the router (a product route takes the
cache read made here: `product_cache_read`, not a second GET), whose routes answer exactly as
before: their status codes, problems and OpenAPI document are unchanged, and an
answer from here has the status, headers and body the route would give.

The scope gets the route's object as `route`, so metrics and spans carry its
template (`/api/products/{product_id}`, `/api/products/search`) as they would
from the router. A recorded server span gets `productstore.cache` = `redis` or
`search_pages`, where the answer came from: the cache reads make no child spans
(one cost more than the read), the server span's length is the read's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from opentelemetry import trace
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from productstore_catalog.app.services.catalog import CacheRead, Catalog
from productstore_catalog.app.services.search import ProductSearch
from productstore_common.kit import Container

PRODUCTS = "/api/products/"
SEARCH = "/api/products/search"
_ID_LENGTH = 36  # the canonical text of a UUID; other spellings go to the router
_METHODS = frozenset(("GET", "HEAD"))
_JSON = (b"content-type", b"application/json")
_PRODUCT_CACHE_READ = "product_cache_read"


def product_cache_read(scope: Scope, product_id: uuid.UUID) -> CacheRead | None:
    """The cache read this middleware made for `product_id` and did not answer from."""
    found = scope.get("state", {}).get(_PRODUCT_CACHE_READ)
    if found is not None and found[0] == product_id:
        read: CacheRead = found[1]
        return read
    return None


def route_of(router: APIRouter, endpoint: Callable[..., Any]) -> APIRoute:
    """The route of `endpoint` in `router`."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.endpoint is endpoint:
            return route
    raise LookupError(f"{endpoint.__name__} is not routed")


class CachedReads:
    """`product_route` and `search_route` are the router's routes of the two reads."""

    def __init__(self, app: ASGIApp, *, product_route: BaseRoute, search_route: BaseRoute) -> None:
        self.app = app
        self._product_route = product_route
        self._search_route = search_route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _METHODS:
            # Set up by the app's lifespan; before that (or without it) the router answers.
            container = getattr(scope["app"].state, "container", None)
            if (
                isinstance(container, Container)
                and Catalog in container
                and await self._answer(
                    scope, send, container.get(Catalog), container.get(ProductSearch)
                )
            ):
                return
        await self.app(scope, receive, send)

    async def _answer(
        self, scope: Scope, send: Send, catalog: Catalog, search: ProductSearch
    ) -> bool:
        path: str = scope["path"]
        if path == SEARCH:
            page = search.cached_page(scope["query_string"])
            if page is None:
                return False
            scope["route"] = self._search_route
            _mark_span("search_pages")
            await _send(scope, send, page, [_JSON])
            return True
        if len(path) != len(PRODUCTS) + _ID_LENGTH or not path.startswith(PRODUCTS):
            return False
        try:
            product_id = uuid.UUID(path[len(PRODUCTS) :])
        except ValueError:
            return False  # the router's 422
        read = await catalog.cached_product_document(product_id)
        _, version, document = read
        if document is None:
            # The route goes on from this read (Cassandra, or 404 for a tombstone).
            scope.setdefault("state", {})[_PRODUCT_CACHE_READ] = (product_id, read)
            return False
        scope["route"] = self._product_route
        _mark_span("redis")
        await _send(scope, send, document, [_JSON, (b"etag", b'"%d"' % version)])
        return True


def _mark_span(cache: str) -> None:
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("productstore.cache", cache)


async def _send(scope: Scope, send: Send, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"%d" % len(body)), *headers],
        }
    )
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
