"""Client spans: Redis (redis.asyncio), httpx and Cassandra calls inside a traced request.

Redis and httpx use the official instrumentations (opentelemetry-instrumentation-
redis, -httpx), installed once per process by `install_client_tracing` (from
`create_app`, only when an OTLP endpoint is configured). Cassandra's spans are made by
`CassandraSession` itself with `client_tracer`: the contrib instrumentation of
cassandra-driver wraps `Session.execute_async` but ends its span when the call
returns the ResponseFuture, so it times the submission, not the round trip, and
names every span `Cassandra` without the statement's operation or keyspace.
Kafka's producer and consumer spans are made by the events layer (publisher,
consumer) and carried in `traceparent`.

Every client span goes through `ClientTracerProvider`, which makes one only as the
child of a *recording* span: an unsampled request, a readiness probe or the outbox
relay's polling then costs one `is_recording()` check and no span at all, and
pollers never flood the collector with one-span root traces. The provider targets
the tracer provider of the last app installed with an endpoint (one per process in
production; tests create several apps).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.environment_variables import OTEL_SEMCONV_STABILITY_OPT_IN
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanKind, Tracer, TracerProvider
from opentelemetry.util.types import Attributes


class _Installation:
    """Where client spans go, and whether the libraries are instrumented."""

    def __init__(self) -> None:
        self.target: TracerProvider | None = None
        self.instrumented = False
        self.lock = threading.Lock()


_installation = _Installation()


class _ClientTracer(Tracer):
    """Starts spans on the target provider, only under a recording parent."""

    def __init__(self, name: str, version: str | None, schema_url: str | None) -> None:
        self._name, self._version, self._schema_url = name, version, schema_url
        self._provider: TracerProvider | None = None
        self._tracer: Tracer = trace.NoOpTracer()

    def _delegate(self) -> Tracer:
        target = _installation.target
        if target is not self._provider and target is not None:
            self._tracer = target.get_tracer(self._name, self._version, self._schema_url)
            self._provider = target
        return self._tracer

    def start_span(  # noqa: PLR0917 (the API's signature)
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        parent = trace.get_current_span(context)
        if _installation.target is None or not parent.is_recording():
            # Keeps the parent's ids, so propagation (httpx's traceparent) still
            # tells the next service that the trace is not sampled.
            return NonRecordingSpan(parent.get_span_context())
        return self._delegate().start_span(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
        )

    def start_as_current_span(  # type: ignore[override]  # noqa: PLR0917 (the API's)
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> AbstractContextManager[Span]:
        span = self.start_span(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
        )
        if not span.is_recording():
            # Nothing to attach: the current context stays the parent's. A plain
            # nullcontext, not a generator: this is the path of every unsampled call.
            return contextlib.nullcontext(span)
        return trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        )


class ClientTracerProvider(TracerProvider):
    """Hands out `_ClientTracer`s (see the module docstring)."""

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes | None = None,
    ) -> Tracer:
        return _ClientTracer(instrumenting_module_name, instrumenting_library_version, schema_url)


CLIENT_TRACER_PROVIDER = ClientTracerProvider()


def client_tracer(name: str) -> Tracer:
    """A tracer for client spans of our own code (Cassandra)."""
    return CLIENT_TRACER_PROVIDER.get_tracer(name)


def install_client_tracing(provider: TracerProvider) -> None:
    """Send client spans to `provider`; instrument redis and httpx on the first call.

    Idempotent: the instrumentations patch the libraries' classes once per process.
    """
    with _installation.lock:
        _installation.target = provider
        if _installation.instrumented:
            return
        # The current (stable) attribute names (`http.request.method`,
        # `db.system.name`, ...) like our server and Cassandra spans, not the old ones
        # the instrumentations default to; an operator's own setting wins.
        os.environ.setdefault(OTEL_SEMCONV_STABILITY_OPT_IN, "http,database")
        RedisInstrumentor().instrument(tracer_provider=CLIENT_TRACER_PROVIDER)
        # Client metrics would duplicate nothing we scrape: Prometheus has ours.
        HTTPXClientInstrumentor().instrument(
            tracer_provider=CLIENT_TRACER_PROVIDER, meter_provider=NoOpMeterProvider()
        )
        _installation.instrumented = True


def uninstall_client_tracing() -> None:
    """Undo `install_client_tracing` (for benchmarks comparing with and without)."""
    with _installation.lock:
        if _installation.instrumented:
            RedisInstrumentor().uninstrument()
            HTTPXClientInstrumentor().uninstrument()
        _installation.target, _installation.instrumented = None, False


def cql_span_attributes(query: str | None, keyspace: str | None) -> dict[str, Any]:
    """Semantic-convention attributes of a CQL call: the statement text (prepared
    text with `?` or `%s` markers, never bound values) and its operation."""
    attributes: dict[str, Any] = {"db.system.name": "cassandra"}
    if keyspace:
        attributes["db.namespace"] = keyspace
    if query:
        attributes["db.query.text"] = query
        attributes["db.operation.name"] = query.split(None, 1)[0].upper() if query.strip() else ""
    else:
        attributes["db.operation.name"] = "BATCH"
    return attributes


def cql_span_name(attributes: Mapping[str, Any]) -> str:
    """`{db.operation.name} {db.namespace}`, as the conventions name database spans."""
    return " ".join(
        str(attributes[key]) for key in ("db.operation.name", "db.namespace") if attributes.get(key)
    )
