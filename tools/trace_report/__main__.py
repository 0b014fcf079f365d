"""`make trace-report`: where time goes per endpoint and span, from Jaeger's API.

    python -m tools.trace_report [--jaeger URL] [--service NAME ...] [--lookback 1h]
        [--limit 200] [--slowest 5] [--out bench/results] [--screenshot]

Writes `<out>/trace-report.json` and `<out>/trace-report.html` (the slowest traces
drawn as waterfalls); with --screenshot also `trace-report.png`, taken by headless
Chromium. docs/architecture.md ("Reading a trace report") says how to read them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from productstore_contracts.services import DESCRIPTORS
from tools.trace_report import analysis, jaeger, page
from tools.trace_report.screenshot import screenshot

REPO = Path(__file__).resolve().parents[2]
DEFAULT_JAEGER = "http://127.0.0.1:16686"


def build_report(
    jaeger_url: str,
    service_names: list[str],
    *,
    lookback: str,
    limit: int,
    slowest: int,
    all_services: bool = False,
) -> dict[str, Any]:
    """The report's JSON: Jaeger's traces of `service_names` summarised, with how long
    each step took. Without names: the store's services (their descriptors), or every
    service Jaeger knows with `all_services` (tests' and tools' traces too)."""
    started = time.perf_counter()
    with httpx.Client(base_url=jaeger_url, timeout=30) as client:
        store = None if all_services else [d.name for d in DESCRIPTORS]
        names = service_names or jaeger.services(client, store)
        raw = jaeger.traces(client, names, lookback=lookback, limit=limit)
    fetched = time.perf_counter()
    traces = [analysis.parse_trace(item) for item in raw if item.get("spans")]
    report = analysis.summarise(traces, slowest=slowest)
    analysed = time.perf_counter()
    report["source"] = {"jaeger": jaeger_url, "services": names, "lookback": lookback}
    report["generated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["spans_total"] = sum(len(trace.spans) for trace in traces)
    report["timings_ms"] = {
        "fetch": round((fetched - started) * 1000, 1),
        "analyse": round((analysed - fetched) * 1000, 1),
    }
    return report


def write_report(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """trace-report.json and trace-report.html in `out`; the render time is added."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    html = page.render(report)
    report["timings_ms"]["render"] = round((time.perf_counter() - started) * 1000, 1)
    html_path, json_path = out / "trace-report.html", out / "trace-report.json"
    html_path.write_text(html, encoding="utf-8")
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return json_path, html_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--jaeger",
        default=os.environ.get("JAEGER_QUERY_URL", DEFAULT_JAEGER),
        help="Jaeger's query URL (default: $JAEGER_QUERY_URL, else %(default)s)",
    )
    parser.add_argument(
        "--service",
        action="append",
        default=[],
        help="a service to read (repeat; default: the store's services Jaeger knows)",
    )
    parser.add_argument(
        "--all-services", action="store_true", help="every service Jaeger knows but itself"
    )
    parser.add_argument("--lookback", default="1h", help="how far back (Jaeger's syntax: 1h, 2d)")
    parser.add_argument("--limit", type=int, default=200, help="traces per service")
    parser.add_argument("--slowest", type=int, default=5, help="waterfalls drawn")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--screenshot", action="store_true", help="PNG of the page (Chromium)")
    parser.add_argument(
        "--screenshot-size", default="1400x2400", help="the PNG's WIDTHxHEIGHT in CSS pixels"
    )
    args = parser.parse_args(argv)
    try:
        report = build_report(
            args.jaeger,
            args.service,
            lookback=args.lookback,
            limit=args.limit,
            slowest=args.slowest,
        )
    except httpx.HTTPError as exc:
        sys.stderr.write(f"trace-report: Jaeger at {args.jaeger} did not answer: {exc}\n")
        return 1
    json_path, html_path = write_report(report, args.out)
    written = [json_path, html_path]
    if args.screenshot:
        started = time.perf_counter()
        width, height = (int(part) for part in args.screenshot_size.split("x"))
        try:
            written.append(
                screenshot(html_path, args.out / "trace-report.png", width=width, height=height)
            )
        except RuntimeError as exc:
            sys.stderr.write(f"trace-report: no screenshot: {exc}\n")
            return 1
        report["timings_ms"]["screenshot"] = round((time.perf_counter() - started) * 1000, 1)
        json_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    summary = {
        "traces": report["traces"],
        "spans": report["spans_total"],
        "endpoints": len(report["endpoints"]),
        "timings_ms": report["timings_ms"],
        "written": [str(path) for path in written],
    }
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
