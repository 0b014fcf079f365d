"""Response compression: Starlette's gzip, without its cost for clients that do not ask.

Starlette's GZipMiddleware (1.x) wraps every response, gzip accepted or not: the
identity path re-parses the response headers to decide on a `Vary` header, about
as much work as a cached product read's own. Here a request without `gzip` in
`Accept-Encoding` goes straight to the app; a response it gets is then never
compressed, so there is nothing for a cache to tell apart on its side (responses
that *are* compressed still carry `Vary: Accept-Encoding`).
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware as StarletteGZipMiddleware
from starlette.types import Receive, Scope, Send


def accepts_gzip(scope: Scope) -> bool:
    return any(name == b"accept-encoding" and b"gzip" in value for name, value in scope["headers"])


class GZipMiddleware(StarletteGZipMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not accepts_gzip(scope):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
