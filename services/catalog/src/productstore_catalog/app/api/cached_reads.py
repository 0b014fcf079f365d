"""Cached product reads answered before FastAPI's router.

`GET /api/products/{id}` is the store's hottest request, and most of its cost was
FastAPI around it: route matching, dependency solving and path validation, an
exit stack, a Response object. This ASGI middleware, innermost in the service's
stack (request id, metrics, tracing and gzip still wrap it), answers a GET or
HEAD of a product id whose document is in the cache. Everything else (a miss, a
tombstone, Redis failing, a malformed id, another route) goes on to the router,
whose route answers exactly as before: its status codes, problems and OpenAPI
document are unchanged, and a hit answered here has the same status, headers
and body as one answered there.

The scope gets the route's object as `route`, so metrics and spans carry its
template (`/api/products/{product_id}`) as they would from the router.
"""

from __future__ import annotations

import uuid

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from productstore_catalog.app.api.deps import Services

PREFIX = "/api/products/"
_ID_LENGTH = 36  # the canonical text of a UUID; other spellings go to the router
_METHODS = frozenset(("GET", "HEAD"))


class CachedProductReads:
    """`route` is the router's route of `GET /api/products/{product_id}`."""

    def __init__(self, app: ASGIApp, route: BaseRoute) -> None:
        self.app = app
        self._route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _METHODS:
            path: str = scope["path"]
            if len(path) == len(PREFIX) + _ID_LENGTH and path.startswith(PREFIX):
                services = getattr(scope["app"].state, "services", None)
                if isinstance(services, Services) and await self._answer(
                    scope, send, services, path[len(PREFIX) :]
                ):
                    return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send, services: Services, text: str) -> bool:
        try:
            product_id = uuid.UUID(text)
        except ValueError:
            return False  # the router's 422
        cached = await services.catalog.cached_product_document(product_id)
        if cached is None:
            return False
        version, document = cached
        scope["route"] = self._route
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", b"%d" % len(document)),
                    (b"content-type", b"application/json"),
                    (b"etag", b'"%d"' % version),
                ],
            }
        )
        body = b"" if scope["method"] == "HEAD" else document
        await send({"type": "http.response.body", "body": body})
        return True
