"""Pure analysis of Jaeger traces: span durations per name, critical paths per endpoint.

A trace is Jaeger's JSON (`/api/traces`): spans with microsecond `startTime` and
`duration`, `references` to their parent, and `processes` naming their service.

The critical path is the chain of work the trace's end waited for, walked back from
the end as Jaeger's UI does: from a span's end, the child that finished last (clamped
to the cursor) is on the path, then the one that finished last before that child
started, and so on; what no child covers is the span's own time. Spans of a
checkout outlive their parent (the relay publishes after the 202; the consumer
handles later), so a span's end here is the end of its whole subtree, and time on
the path that lies outside the span's own interval is `QUEUED`: waiting between
services (outbox relay, Kafka delivery, consumer poll), not work of any of them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

QUEUED = "(queued)"


@dataclass
class Span:
    span_id: str
    parent_id: str | None
    name: str
    service: str
    kind: str
    start_us: int
    duration_us: int
    attributes: dict[str, Any]
    children: list[Span] = field(default_factory=list)
    # The end of this span's subtree (set by `build_tree`).
    tree_end_us: int = 0
    critical_us: int = 0  # own time on the trace's critical path

    @property
    def end_us(self) -> int:
        return self.start_us + self.duration_us


@dataclass
class Trace:
    trace_id: str
    root: Span
    spans: list[Span]

    @property
    def start_us(self) -> int:
        return min(span.start_us for span in self.spans)

    @property
    def duration_us(self) -> int:
        return max(span.end_us for span in self.spans) - self.start_us

    @property
    def endpoint(self) -> str:
        """What the user did: the root span's service and name."""
        return f"{self.root.service}: {self.root.name}"


def parent_of(span: Mapping[str, Any]) -> str | None:
    """The parent span id of a Jaeger span: its CHILD_OF reference, else its first
    FOLLOWS_FROM one in the same trace. Jaeger turns a span whose parent is also a
    link (our Kafka process spans) into one FOLLOWS_FROM reference; its UI draws that
    as the parent too."""
    references = [
        ref for ref in span.get("references") or () if ref.get("traceID") == span.get("traceID")
    ] or list(span.get("references") or ())
    for kind in ("CHILD_OF", "FOLLOWS_FROM"):
        for ref in references:
            if ref["refType"] == kind:
                found: str = ref["spanID"]
                return found
    return None


def parse_trace(raw: Mapping[str, Any]) -> Trace:
    """A Jaeger API trace as a tree; a span whose parent is missing is a root, and the
    earliest root is the trace's."""
    processes = raw.get("processes") or {}
    spans: list[Span] = []
    for item in raw["spans"]:
        parent = parent_of(item)
        tags = {tag["key"]: tag["value"] for tag in item.get("tags") or ()}
        process = processes.get(item.get("processID"), {})
        spans.append(
            Span(
                span_id=item["spanID"],
                parent_id=parent,
                name=item["operationName"],
                service=process.get("serviceName", "?"),
                kind=str(tags.pop("span.kind", "internal")),
                start_us=int(item["startTime"]),
                duration_us=int(item["duration"]),
                attributes=tags,
            )
        )
    if not spans:
        raise ValueError(f"trace {raw.get('traceID')} has no spans")
    by_id = {span.span_id: span for span in spans}
    roots = []
    for span in spans:
        parent_span = by_id.get(span.parent_id) if span.parent_id else None
        if parent_span is None:
            roots.append(span)
        else:
            parent_span.children.append(span)
    for span in spans:
        span.children.sort(key=lambda child: child.start_us)
    root = min(roots, key=lambda span: span.start_us)
    for top in roots:
        _set_tree_end(top)
    trace = Trace(trace_id=raw["traceID"], root=root, spans=spans)
    mark_critical_path(trace)
    return trace


def _set_tree_end(span: Span) -> int:
    span.tree_end_us = max([span.end_us, *(_set_tree_end(child) for child in span.children)])
    return span.tree_end_us


def mark_critical_path(trace: Trace) -> dict[str, int]:
    """Each span's own time on the critical path (`critical_us`); returns the path's
    time per service, `QUEUED` for the waits between spans."""
    shares: dict[str, int] = defaultdict(int)
    for span in trace.spans:
        span.critical_us = 0
    # Iterative: (span, cursor) pairs; a trace of thousands of spans needs no deep stack.
    stack: list[tuple[Span, int]] = [(trace.root, trace.root.tree_end_us)]
    while stack:
        span, cursor = stack.pop()
        pending: list[tuple[Span, int]] = []
        for child in sorted(span.children, key=lambda c: c.tree_end_us, reverse=True):
            if child.start_us >= cursor:
                continue
            child_end = min(child.tree_end_us, cursor)
            _credit(span, child_end, cursor, shares)
            pending.append((child, child_end))
            cursor = max(child.start_us, span.start_us)
            if cursor <= span.start_us:
                break
        _credit(span, span.start_us, cursor, shares)
        stack.extend(pending)
    return dict(shares)


def _credit(span: Span, begin: int, end: int, shares: dict[str, int]) -> None:
    """[begin, end) of the path: the span's own where it overlaps the span, else queued."""
    if end <= begin:
        return
    own = max(0, min(end, span.end_us) - max(begin, span.start_us))
    span.critical_us += own
    shares[span.service] += own
    if end - begin - own:
        shares[QUEUED] += end - begin - own


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _ms(microseconds: float) -> float:
    return round(microseconds / 1000, 3)


def summarise(traces: Iterable[Trace], *, slowest: int) -> dict[str, Any]:
    """The report's data: per endpoint (trace count, p50/p99 duration, critical-path share
    per service), per span name (p50/p99/max), and in full the slowest trace of each of
    the `slowest` endpoints with the highest p99."""
    traces = list(traces)
    endpoints: dict[str, list[Trace]] = defaultdict(list)
    durations: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for trace in traces:
        endpoints[trace.endpoint].append(trace)
        for span in trace.spans:
            durations[(span.service, span.name, span.kind)].append(span.duration_us)
    endpoint_rows: list[dict[str, Any]] = []
    for endpoint, group in endpoints.items():
        totals: dict[str, int] = defaultdict(int)
        for trace in group:
            for service, micros in mark_critical_path(trace).items():
                totals[service] += micros
        path = sum(totals.values()) or 1
        endpoint_rows.append(
            {
                "endpoint": endpoint,
                "traces": len(group),
                "p50_ms": _ms(percentile([t.duration_us for t in group], 50)),
                "p99_ms": _ms(percentile([t.duration_us for t in group], 99)),
                "spans_per_trace": round(sum(len(t.spans) for t in group) / len(group), 1),
                "critical_path_share": {
                    service: round(micros / path, 4)
                    for service, micros in sorted(totals.items(), key=lambda kv: -kv[1])
                },
            }
        )
    endpoint_rows.sort(key=lambda row: -row["p99_ms"])
    span_rows: list[dict[str, Any]] = [
        {
            "service": service,
            "span": name,
            "kind": kind,
            "count": len(values),
            "p50_ms": _ms(percentile(values, 50)),
            "p99_ms": _ms(percentile(values, 99)),
            "max_ms": _ms(max(values)),
        }
        for (service, name, kind), values in durations.items()
    ]
    span_rows.sort(key=lambda row: -row["p99_ms"])
    # The slowest trace of each endpoint, slowest p99 first: one waterfall per kind of
    # user action rather than five of the same slow login.
    ranked = [
        max(endpoints[row["endpoint"]], key=lambda t: t.duration_us)
        for row in endpoint_rows[:slowest]
    ]
    return {
        "traces": len(traces),
        "endpoints": endpoint_rows,
        "spans": span_rows,
        "slowest": [waterfall(trace) for trace in ranked],
    }


def waterfall(trace: Trace) -> dict[str, Any]:
    """A trace as rows in depth-first order, times relative to the trace's start."""
    mark_critical_path(trace)
    origin = trace.start_us
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    roots = [trace.root] + [
        s for s in trace.spans if s.parent_id not in {x.span_id for x in trace.spans}
    ]
    stack = [(root, 0) for root in reversed(roots)]
    while stack:
        span, depth = stack.pop()
        if span.span_id in seen:
            continue
        seen.add(span.span_id)
        rows.append(
            {
                "span_id": span.span_id,
                "name": span.name,
                "service": span.service,
                "kind": span.kind,
                "depth": depth,
                "offset_ms": _ms(span.start_us - origin),
                "duration_ms": _ms(span.duration_us),
                "critical_ms": _ms(span.critical_us),
                "attributes": {key: span.attributes[key] for key in sorted(span.attributes)},
            }
        )
        stack.extend((child, depth + 1) for child in reversed(span.children))
    return {
        "trace_id": trace.trace_id,
        "endpoint": trace.endpoint,
        "duration_ms": _ms(trace.duration_us),
        "spans": rows,
    }
