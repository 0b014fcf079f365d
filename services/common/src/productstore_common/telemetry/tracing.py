"""OpenTelemetry traces: provider, server spans, context propagation.

Spans are exported over OTLP/HTTP to `settings.otlp_endpoint` (Jaeger locally,
a collector in clusters) by a batch processor (a background thread: requests
never wait for an export) and sampled `ParentBased(TraceIdRatioBased(ratio))`:
a request that arrives with a sampled `traceparent` stays sampled, so a trace is
never cut in half between services. Without an endpoint spans are still made,
so logs and responses carry trace ids.

Server spans come from `TracingMiddleware`, a pure ASGI middleware of our own
rather than opentelemetry-instrumentation-fastapi: that one matched every
request against the routes, built a dozen attributes and recorded metrics for
*every* request, sampled or not, which cost about as much as a cached product
read. Here an unsampled request costs a context extract, a non-recording span
and the `traceresponse` header; attributes are only built for recorded spans.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from productstore_common.settings import ServiceSettings
from productstore_common.telemetry.metrics import UNMATCHED_ROUTE, route_label

_logger = logging.getLogger(__name__)

# Probes and scrapes every few seconds would drown the real traces.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
EXPORT_TIMEOUT_SECONDS = 5.0
TRACERESPONSE_HEADER = b"traceresponse"
_EXPOSE_HEADERS = (b"access-control-expose-headers", TRACERESPONSE_HEADER)


def build_tracer_provider(settings: ServiceSettings, version: str) -> TracerProvider:
    """A provider for `settings.service_name`, exporting to the configured endpoint."""
    resource = Resource.create(
        {
            "service.name": settings.service_name,
            "service.version": version,
            "deployment.environment.name": settings.environment,
        }
    )
    provider = TracerProvider(
        resource=resource,
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
    if settings.otlp_endpoint is not None:
        exporter = OTLPSpanExporter(
            endpoint=f"{settings.otlp_endpoint.rstrip('/')}/v1/traces",
            timeout=EXPORT_TIMEOUT_SECONDS,
        )
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def install_global_tracer_provider(provider: TracerProvider) -> bool:
    """Make `provider` the process's provider unless one is set already.

    Code asking the API for a tracer (`trace.get_tracer`) gets the global one; client
    spans (Redis, httpx, Cassandra) go through `telemetry.clients` instead.
    OpenTelemetry allows setting it once per process; later calls (a second app in
    the same test session) keep the first. Returns whether `provider` was installed.
    """
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
        return True
    return False


class _ScopeHeaders(Getter[Scope]):
    """Reads propagation headers (`traceparent`, ...) straight from the ASGI scope."""

    def get(self, carrier: Scope, key: str) -> list[str] | None:
        name = key.lower().encode("latin-1")
        found = [value.decode("latin-1") for key_, value in carrier["headers"] if key_ == name]
        return found or None

    def keys(self, carrier: Scope) -> list[str]:
        return [key.decode("latin-1") for key, _ in carrier["headers"]]


_SCOPE_HEADERS = _ScopeHeaders()
_NO_PARENT = Context()


def _request_attributes(scope: Scope) -> dict[str, Any]:
    """OpenTelemetry HTTP semantic-convention attributes of a recorded server span."""
    attributes: dict[str, Any] = {
        "http.request.method": scope["method"],
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    if scope.get("query_string"):
        attributes["url.query"] = scope["query_string"].decode("latin-1")
    server, client = scope.get("server"), scope.get("client")
    if server:
        attributes["server.address"], attributes["server.port"] = server[0], server[1]
    if client:
        attributes["client.address"] = client[0]
    for name, value in scope["headers"]:
        if name == b"user-agent":
            attributes["user_agent.original"] = value.decode("latin-1")
    return attributes


class TracingMiddleware:
    """A server span per HTTP request, named `<METHOD> <route template>`; the W3C
    `traceparent` of the request is its parent, and the response's `traceresponse`
    header carries its trace and span ids (sampled or not, for support requests).

    Outermost in the stack (`instrument_app`), so the 500 of an unhandled error
    is answered, and its problem body and log line written, inside the span.
    """

    def __init__(self, app: ASGIApp, provider: TracerProvider) -> None:
        self.app = app
        self.tracer = provider.get_tracer("productstore_common.telemetry.tracing")
        # The headers the process's propagators read (traceparent, tracestate, baggage
        # by default; OTEL_PROPAGATORS may name others), as ASGI spells them.
        self._context_headers = frozenset(
            field.lower().encode("latin-1") for field in propagate.get_global_textmap().fields
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNTRACED_PATHS:
            await self.app(scope, receive, send)
            return
        # Most requests carry no trace context (from the edge, probes): then the
        # propagators' extract (a header scan and a Context per propagator) is skipped.
        parent = (
            propagate.extract(scope, getter=_SCOPE_HEADERS)
            if any(name in self._context_headers for name, _ in scope["headers"])
            else _NO_PARENT
        )
        method = scope["method"]
        span = self.tracer.start_span(method, context=parent, kind=SpanKind.SERVER)
        recording = span.is_recording()
        if recording:
            span.set_attributes(_request_attributes(scope))
        ids = span.get_span_context()
        traceresponse = f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}"
        status = 500  # if nothing answers, the server's 500 does

        async def send_with_traceresponse(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (TRACERESPONSE_HEADER, traceresponse.encode("latin-1")),
                    _EXPOSE_HEADERS,
                ]
            await send(message)

        token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            await self.app(scope, receive, send_with_traceresponse)
        except BaseException as exc:
            if recording:
                span.record_exception(exc)
            raise
        finally:
            otel_context.detach(token)
            if recording:
                _finish(span, method, route_label(scope), status)
            span.end()


def _finish(span: trace.Span, method: str, route: str, status: int) -> None:
    if route != UNMATCHED_ROUTE:
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))


def instrument_app(app: FastAPI, provider: TracerProvider) -> None:
    """Wrap `app`'s whole middleware stack (its error handler included) in
    `TracingMiddleware`."""
    build_stack = app.build_middleware_stack

    def build_traced_stack() -> ASGIApp:
        return TracingMiddleware(build_stack(), provider)

    app.build_middleware_stack = build_traced_stack  # type: ignore[method-assign]


def shutdown_tracing(provider: TracerProvider, timeout_seconds: float = 5.0) -> None:
    """Export what is buffered and stop; a dead collector is logged, never raised,
    so a service always finishes its shutdown."""
    try:
        if not provider.force_flush(timeout_millis=int(timeout_seconds * 1000)):
            _logger.warning("spans still buffered after %.1fs were dropped", timeout_seconds)
        provider.shutdown()
    except Exception:
        _logger.warning("tracing shutdown failed", exc_info=True)


def inject_context(headers: MutableMapping[str, str], context: Context | None = None) -> None:
    """Write the current (or given) trace context into `headers` (`traceparent`, ...)."""
    propagate.inject(headers, context=context)


def extract_context(headers: Mapping[str, str]) -> Context:
    """The trace context carried by `headers`, whatever their case; use it as the
    `context=` of the span that handles the message."""
    return propagate.extract({name.lower(): value for name, value in headers.items()})


def kafka_trace_headers(context: Context | None = None) -> list[tuple[str, bytes]]:
    """The current trace context as Kafka record headers."""
    carrier: dict[str, str] = {}
    inject_context(carrier, context)
    return [(name, value.encode("utf-8")) for name, value in carrier.items()]


def context_from_kafka_headers(headers: Iterable[tuple[str, bytes | None]] | None) -> Context:
    """The trace context carried by Kafka record headers (absent ones are ignored)."""
    carrier = {
        name: value.decode("utf-8", errors="replace")
        for name, value in headers or ()
        if value is not None
    }
    return extract_context(carrier)
