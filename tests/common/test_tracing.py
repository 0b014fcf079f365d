"""Traces: W3C context in and out, sampling, propagation helpers, export to Jaeger."""

from __future__ import annotations

import logging
import socket
import time
import uuid
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

from devstack.components.jaeger import Jaeger
from productstore_common.settings import ServiceSettings
from productstore_common.telemetry.tracing import (
    build_tracer_provider,
    context_from_kafka_headers,
    extract_context,
    inject_context,
    kafka_trace_headers,
    shutdown_tracing,
)
from tests.common.tinyapp import VERSION, build_app, capture_spans, serve, settings

pytestmark = pytest.mark.anyio

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
ROUTE_SPAN = "GET /api/things/{thing_id}"


def sampled_flag(traceresponse: str) -> bool:
    # Bit 0 of the W3C trace flags; bit 1 ("random trace id") may be set too.
    return bool(int(traceresponse.split("-")[3], 16) & 0x01)


async def test_incoming_traceparent_is_continued() -> None:
    app = build_app()
    spans = capture_spans(app)
    async with serve(app) as client:
        response = await client.get(
            "/api/things/7", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
        )
    assert response.status_code == 200
    (server,) = [span for span in spans.get_finished_spans() if span.name == ROUTE_SPAN]
    assert trace.format_trace_id(server.context.trace_id) == TRACE_ID
    assert server.parent is not None
    assert trace.format_span_id(server.parent.span_id) == PARENT_ID
    assert server.kind is trace.SpanKind.SERVER
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/api/things/{thing_id}"
    assert server.attributes["http.request.id"] == response.headers["x-request-id"]
    version, trace_id, span_id, _ = response.headers["traceresponse"].split("-")
    assert (version, trace_id) == ("00", TRACE_ID)
    assert sampled_flag(response.headers["traceresponse"])
    assert span_id == trace.format_span_id(server.context.span_id)
    assert server.resource.attributes["service.version"] == VERSION


async def test_request_without_context_starts_a_trace() -> None:
    app = build_app()
    spans = capture_spans(app)
    async with serve(app) as client:
        response = await client.get("/api/things/7")
    (server,) = [span for span in spans.get_finished_spans() if span.name == ROUTE_SPAN]
    assert server.parent is None
    trace_id = response.headers["traceresponse"].split("-")[1]
    assert trace_id == trace.format_trace_id(server.context.trace_id)


async def test_probes_and_scrapes_are_not_traced() -> None:
    app = build_app()
    spans = capture_spans(app)
    async with serve(app) as client:
        for path in ("/healthz", "/readyz", "/metrics", "/api/things/1"):
            assert (await client.get(path)).status_code == 200
    assert [span.name for span in spans.get_finished_spans()] == [ROUTE_SPAN]


async def test_sample_ratio_zero_keeps_ids_but_records_nothing() -> None:
    app = build_app(settings(trace_sample_ratio=0.0))
    spans = capture_spans(app)
    async with serve(app) as client:
        unsampled = await client.get("/api/things/1")
        # ParentBased: a caller's sampling decision wins, so traces stay whole.
        sampled = await client.get(
            "/api/things/2", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
        )
    assert not sampled_flag(unsampled.headers["traceresponse"])
    assert sampled_flag(sampled.headers["traceresponse"])
    exported = spans.get_finished_spans()
    assert [trace.format_trace_id(span.context.trace_id) for span in exported] == [TRACE_ID]


def test_header_mapping_round_trip() -> None:
    provider = TracerProvider()
    with provider.get_tracer("test").start_as_current_span("produce") as span:
        headers: dict[str, str] = {}
        inject_context(headers)
    assert headers["traceparent"].split("-")[1] == trace.format_trace_id(
        span.get_span_context().trace_id
    )
    # HTTP header names arrive in any case.
    context = extract_context({"Traceparent": headers["traceparent"]})
    extracted = trace.get_current_span(context).get_span_context()
    assert extracted.trace_id == span.get_span_context().trace_id
    assert extracted.span_id == span.get_span_context().span_id
    assert extracted.is_remote


def test_kafka_headers_round_trip() -> None:
    provider = TracerProvider()
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("publish") as producer:
        headers = kafka_trace_headers()
    assert all(isinstance(value, bytes) for _, value in headers)
    received = [*headers, ("event-id", None), ("content-type", b"application/json")]
    with tracer.start_as_current_span(
        "consume", context=context_from_kafka_headers(received)
    ) as consumer:
        pass
    assert isinstance(consumer, ReadableSpan)
    assert consumer.get_span_context().trace_id == producer.get_span_context().trace_id
    assert consumer.parent is not None
    assert consumer.parent.span_id == producer.get_span_context().span_id


def test_no_headers_means_a_new_trace() -> None:
    assert not trace.get_current_span(context_from_kafka_headers(None)).get_span_context().is_valid
    assert not trace.get_current_span(extract_context({})).get_span_context().is_valid


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_shutdown_survives_a_dead_collector() -> None:
    provider = build_tracer_provider(
        settings(otlp_endpoint=f"http://127.0.0.1:{_closed_port()}"), VERSION
    )
    with provider.get_tracer("test").start_as_current_span("lost"):
        pass
    started = time.monotonic()
    shutdown_tracing(provider, timeout_seconds=1.0)
    # Bounded by the exporter's own timeout, not by retries forever.
    assert time.monotonic() - started < 10
    shutdown_tracing(provider)  # twice is harmless


class FailingProcessor(SpanProcessor):
    """A span processor whose exporter blows up at shutdown."""

    def shutdown(self) -> None:
        raise RuntimeError("exporter exploded")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return False


def test_shutdown_logs_instead_of_raising(caplog: pytest.LogCaptureFixture) -> None:
    # No atexit shutdown: it would meet the failing processor again at exit.
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(FailingProcessor())
    with caplog.at_level(logging.WARNING, logger="productstore_common.telemetry.tracing"):
        shutdown_tracing(provider, timeout_seconds=0.1)
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "spans still buffered after 0.1s were dropped",
        "tracing shutdown failed",
    ]
    assert "exporter exploded" in caplog.text


def _find_trace(jaeger: Jaeger, service: str, trace_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=jaeger.query_url, timeout=5) as client:
        while time.monotonic() < deadline:
            response = client.get("/api/traces", params={"service": service, "limit": 5})
            if response.status_code == 200:
                for found in response.json().get("data") or []:
                    if found["traceID"] == trace_id:
                        result: dict[str, Any] = found
                        return result
            time.sleep(0.5)
    raise AssertionError(f"trace {trace_id} of {service} not in Jaeger within 30s")


async def test_spans_reach_jaeger(jaeger: Jaeger) -> None:
    service = f"pstest-{uuid.uuid4().hex[:12]}"
    app = build_app(
        ServiceSettings(
            environment="test", service_name=service, otlp_endpoint=jaeger.otlp_http_endpoint
        )
    )
    # Leaving serve() runs the lifespan's shutdown, which flushes the exporter.
    async with serve(app) as client:
        response = await client.get(
            # A trace id of its own: Jaeger keeps the spans of earlier runs of this test.
            "/api/things/9",
            headers={"traceparent": f"00-{uuid.uuid4().hex}-{PARENT_ID}-01"},
        )
    trace_id = response.headers["traceresponse"].split("-")[1]
    found = _find_trace(jaeger, service, trace_id)
    (span,) = [span for span in found["spans"] if span["operationName"] == ROUTE_SPAN]
    tags = {tag["key"]: tag["value"] for tag in span["tags"]}
    assert tags["http.route"] == "/api/things/{thing_id}"
    assert tags["http.request.id"] == response.headers["x-request-id"]
    process = found["processes"][span["processID"]]
    process_tags = {tag["key"]: tag["value"] for tag in process["tags"]}
    assert process["serviceName"] == service
    assert process_tags["service.version"] == VERSION
