"""X-Request-ID in and out: one id per request, in logs, spans and error bodies.

The gateway (nginx) assigns the id; a service reuses a well-formed incoming id and
makes one otherwise, so an id can be followed from the edge to every log line.
"""

from __future__ import annotations

import random
import re
from contextvars import ContextVar

from opentelemetry import trace
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"

# Ids are echoed into headers and logs: accept only a short, harmless alphabet.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)


def request_id_from(header: str | None) -> str:
    """The incoming id if it is well-formed, else a fresh one (32 hex digits).

    Ids correlate log lines, they guard nothing: made from the process's PRNG
    (reseeded after a fork), like OpenTelemetry's trace ids, rather than
    `uuid4`, whose `os.urandom` syscall cost as much as the rest of this
    middleware in a sandboxed container.
    """
    if header and _VALID_REQUEST_ID.match(header):
        return header
    return f"{random.getrandbits(128):032x}"


class RequestIdMiddleware:
    """Sets the request id for the request's context and echoes it in the response.

    The id is also left in `request.state.request_id`, where error handlers that run
    outside this middleware (the 500 handler) find it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = request_id_from(incoming)
        scope.setdefault("state", {})["request_id"] = request_id
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("http.request.id", request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        token = current_request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
