"""The trace report: critical paths and percentiles from hand-made traces (a table),
then the whole command against devstack's Jaeger with traces of two services, its page
screenshotted by headless Chromium and the waterfalls looked for in the pixels."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from devstack.components.jaeger import Jaeger
from tests.support.png import colour_counts
from tools.trace_report.analysis import QUEUED, parse_trace, percentile, summarise
from tools.trace_report.page import render, service_colours
from tools.trace_report.screenshot import chromium, screenshot

REPO = Path(__file__).resolve().parents[2]

# (span id, parent id, service, start ms, end ms)
SpanRow = tuple[str, str | None, str, int, int]


def _jaeger_trace(rows: list[SpanRow], trace_id: str = "t1") -> dict[str, Any]:
    """The shape of Jaeger's /api/traces JSON for `rows`."""
    services = sorted({row[2] for row in rows})
    return {
        "traceID": trace_id,
        "processes": {f"p{i}": {"serviceName": s} for i, s in enumerate(services)},
        "spans": [
            {
                "traceID": trace_id,
                "spanID": span_id,
                "operationName": f"op-{span_id}",
                "references": (
                    [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": parent}]
                    if parent
                    else []
                ),
                "startTime": start * 1000,
                "duration": (end - start) * 1000,
                "tags": [{"key": "span.kind", "type": "string", "value": "server"}],
                "processID": f"p{services.index(service)}",
            }
            for span_id, parent, service, start, end in rows
        ],
    }


CRITICAL_PATHS: list[tuple[str, list[SpanRow], dict[str, int]]] = [
    ("one span is all its service's", [("a", None, "web", 0, 100)], {"web": 100}),
    (
        "children one after another: each its own, the gaps the parent's",
        [("a", None, "web", 0, 100), ("b", "a", "db", 10, 40), ("c", "a", "cache", 50, 90)],
        {"web": 30, "db": 30, "cache": 40},
    ),
    (
        "overlapping children: the later-ending one, the other up to where it began",
        [("a", None, "web", 0, 100), ("b", "a", "db", 10, 60), ("c", "a", "cache", 20, 90)],
        {"web": 20, "db": 10, "cache": 70},
    ),
    (
        "a child outliving its parent (202, then the relay and a consumer): waits queue",
        [
            ("post", None, "orders", 0, 10),
            ("send", "post", "orders", 30, 40),
            ("process", "send", "inventory", 60, 80),
        ],
        {"orders": 20, "inventory": 20, QUEUED: 40},
    ),
    (
        "a span whose parent is missing: the earliest root is the trace's",
        [("x", "gone", "web", 0, 50), ("y", "x", "db", 10, 20), ("z", "gone", "web", 60, 70)],
        {"web": 40, "db": 10},
    ),
]


@pytest.mark.parametrize(
    ("rows", "shares_ms"),
    [pytest.param(rows, shares, id=case) for case, rows, shares in CRITICAL_PATHS],
)
def test_critical_path_shares(rows: list[SpanRow], shares_ms: dict[str, int]) -> None:
    parsed = parse_trace(_jaeger_trace(rows))
    report = summarise([parsed], slowest=1)
    (endpoint,) = report["endpoints"]
    path = sum(shares_ms.values())
    assert endpoint["critical_path_share"] == {
        service: round(ms / path, 4)
        for service, ms in sorted(shares_ms.items(), key=lambda kv: -kv[1])
    }
    (waterfall,) = report["slowest"]
    critical = {row["span_id"]: row["critical_ms"] for row in waterfall["spans"]}
    assert sum(critical.values()) == sum(ms for s, ms in shares_ms.items() if s != QUEUED)
    assert len(waterfall["spans"]) == len(rows)  # orphans are drawn too


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 99, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
        (list(map(float, range(1, 101))), 99, 99.0),
    ],
)
def test_nearest_rank_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected


def _provider(jaeger: Jaeger, service: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=f"{jaeger.otlp_http_endpoint}/v1/traces", timeout=5)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _send_traces(jaeger: Jaeger, front: str, back: str) -> list[str]:
    """Three traces, front calling back: GET /api/things of about 30 and 150 ms, POST
    /api/things of about 90 ms; their ids."""
    front_tracer = _provider(jaeger, front).get_tracer("test")
    back_tracer = _provider(jaeger, back).get_tracer("test")
    trace_ids = []
    for method, millis in (("GET", 30), ("POST", 90), ("GET", 150)):
        with front_tracer.start_as_current_span(
            f"{method} /api/things", kind=SpanKind.SERVER
        ) as root:
            root.set_attribute("http.route", "/api/things")
            time.sleep(millis / 3000)
            with back_tracer.start_as_current_span("SELECT things", kind=SpanKind.CLIENT):
                time.sleep(millis * 2 / 3000)
        trace_ids.append(f"{root.get_span_context().trace_id:032x}")
    return trace_ids


def _wait_for_traces(jaeger: Jaeger, trace_ids: list[str]) -> None:
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=jaeger.query_url, timeout=5) as client:
        for trace_id in trace_ids:
            while client.get(f"/api/traces/{trace_id}").status_code != 200:
                assert time.monotonic() < deadline, f"trace {trace_id} not in Jaeger in 30s"
                time.sleep(0.3)


def test_the_report_draws_the_slowest_traces_as_waterfalls(jaeger: Jaeger, tmp_path: Path) -> None:
    assert chromium(), "no Chromium: `make setup` installs Debian's chromium"
    suffix = uuid.uuid4().hex[:8]
    front, back = f"report-front-{suffix}", f"report-back-{suffix}"
    trace_ids = _send_traces(jaeger, front, back)
    _wait_for_traces(jaeger, trace_ids)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.trace_report",
            "--jaeger",
            jaeger.query_url,
            "--service",
            front,
            "--service",
            back,
            "--slowest",
            "2",
            "--out",
            str(tmp_path),
            "--screenshot",
            "--screenshot-size",
            "1200x900",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "trace-report.json").read_text())
    assert report["traces"] == 3
    get, post = report["endpoints"]  # slowest p99 first
    assert (get["endpoint"], post["endpoint"]) == (
        f"{front}: GET /api/things",
        f"{front}: POST /api/things",
    )
    assert (get["traces"], post["traces"]) == (2, 1)
    # front sleeps a third of each trace, back two thirds (give or take the export).
    assert get["critical_path_share"][back] > get["critical_path_share"][front]
    assert 150 <= get["p99_ms"] < 1000
    assert 90 <= post["p50_ms"] < get["p99_ms"]
    # The slowest trace of each endpoint: GET's 150 ms one, then the POST.
    assert [w["trace_id"] for w in report["slowest"]] == [trace_ids[2], trace_ids[1]]
    assert set(report["timings_ms"]) == {"fetch", "analyse", "render", "screenshot"}
    html = (tmp_path / "trace-report.html").read_text()
    assert html.count('class="waterfall"') == 2
    for trace_id in trace_ids[1:]:
        assert f'data-trace="{trace_id}"' in html
    assert "http://" not in html.replace(jaeger.query_url, "")  # nothing loaded from outside
    # The pixels: both services' bars are drawn (4 bars of at least 2x14 px in the
    # waterfalls, plus the legend and the critical-path bar).
    colours = service_colours(report)
    assert colours[front] != colours[back]
    # The same page without its waterfalls, screenshotted the same way: what the
    # waterfalls add in each service's colour is their bars (two traces, each with a
    # bar of each service at least 50 px wide and 14 high).
    bare = tmp_path / "bare.html"
    bare.write_text(render({**report, "slowest": []}))
    bare_png = screenshot(bare, tmp_path / "bare.png", width=1200, height=900)
    pixels = colour_counts((tmp_path / "trace-report.png").read_bytes())
    without = colour_counts(bare_png.read_bytes())
    for service in (front, back):
        drawn = pixels[colours[service]] - without[colours[service]]
        assert drawn >= 2 * 50 * 14, (service, colours[service], drawn)
