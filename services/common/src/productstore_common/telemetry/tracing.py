"""OpenTelemetry traces: provider, FastAPI instrumentation, context propagation.

Spans are exported over OTLP/HTTP to `settings.otlp_endpoint` (Jaeger locally,
a collector in clusters) and sampled `ParentBased(TraceIdRatioBased(ratio))`: a
request that arrives with a sampled `traceparent` stays sampled, so a trace is
never cut in half between services. Without an endpoint spans are still made,
so logs and responses carry trace ids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, MutableMapping

from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.propagators import (
    TraceResponsePropagator,
    set_global_response_propagator,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from productstore_common.settings import ServiceSettings

_logger = logging.getLogger(__name__)

# Probes and scrapes every few seconds would drown the real traces.
UNTRACED_PATHS = ("/healthz$", "/readyz$", "/metrics$")
EXPORT_TIMEOUT_SECONDS = 5.0


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

    Library instrumentations (cassandra-driver, redis, httpx) use the global one.
    OpenTelemetry allows setting it once per process; later calls (a second app in
    the same test session) keep the first. Returns whether `provider` was installed.
    """
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
        return True
    return False


def instrument_app(app: FastAPI, provider: TracerProvider) -> None:
    """Server spans named by route template, W3C `traceparent` read from requests
    and the trace's id returned in a `traceresponse` header."""
    set_global_response_propagator(TraceResponsePropagator())  # type: ignore[no-untyped-call]
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=",".join(UNTRACED_PATHS),
        # Spans per ASGI message cost more than they tell.
        exclude_spans=["receive", "send"],
    )


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
