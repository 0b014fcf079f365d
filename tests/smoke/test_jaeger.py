"""Jaeger from devstack: spans sent over OTLP/HTTP come back from the query API."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from devstack.components.jaeger import Jaeger


def _find_trace(jaeger: Jaeger, service: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=jaeger.query_url, timeout=5) as client:
        while time.monotonic() < deadline:
            response = client.get("/api/traces", params={"service": service, "limit": 5})
            # Until the first span of a new service is stored, Jaeger may answer
            # 200 with no data or (older versions) an error for the unknown service.
            if response.status_code == 200:
                traces = response.json().get("data") or []
                if traces and len(traces[0]["spans"]) >= 2:
                    trace: dict[str, Any] = traces[0]
                    return trace
            time.sleep(0.5)
    raise AssertionError(f"no trace for service {service} within {timeout}s")


def test_otlp_trace_round_trip(jaeger: Jaeger) -> None:
    service = f"smoke-{uuid.uuid4().hex[:12]}"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=f"{jaeger.otlp_http_endpoint}/v1/traces", timeout=5)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    try:
        tracer = provider.get_tracer("devstack.smoke")
        with tracer.start_as_current_span("parent") as parent:
            parent.set_attribute("smoke.order_id", "order-42")
            with tracer.start_as_current_span("child") as child:
                child.set_attribute("smoke.step", 2)
        assert provider.force_flush(timeout_millis=10_000)
    finally:
        provider.shutdown()

    trace = _find_trace(jaeger, service)
    spans = {span["operationName"]: span for span in trace["spans"]}
    assert set(spans) == {"parent", "child"}
    parent_span, child_span = spans["parent"], spans["child"]
    assert parent_span["spanID"] == format(parent.get_span_context().span_id, "016x")
    assert child_span["references"] == [
        {
            "refType": "CHILD_OF",
            "traceID": trace["traceID"],
            "spanID": parent_span["spanID"],
        }
    ]
    parent_tags = {tag["key"]: tag["value"] for tag in parent_span["tags"]}
    child_tags = {tag["key"]: tag["value"] for tag in child_span["tags"]}
    assert parent_tags["smoke.order_id"] == "order-42"
    assert child_tags["smoke.step"] == 2
    assert trace["processes"][parent_span["processID"]]["serviceName"] == service
