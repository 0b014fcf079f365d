"""The report as one HTML page: tables, critical-path bars and waterfalls, no scripts
and no external assets (it opens from a file, a CI artifact or a mail)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from tools.trace_report.analysis import QUEUED

# Okabe-Ito (colour-blind safe, without black), then Tol's muted colours: services
# in name order take them in turn, so the store's few services never share one.
PALETTE = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#882255", "#AA4499",
)  # fmt: skip
QUEUED_COLOUR = "#BBBBBB"
# The page shows the heads of the tables (slowest p99 first); the JSON has them all.
TOP_ENDPOINTS = 15
TOP_SPANS = 30

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.share { display: flex; width: 320px; height: 14px; }
.share span { display: block; height: 100%; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; }
.waterfall { border: 1px solid #ccc; margin: 8px 0 24px; }
.row { display: flex; border-top: 1px solid #eee; min-height: 22px; }
.label { width: 420px; flex: none; overflow: hidden; white-space: nowrap;
         text-overflow: ellipsis; padding: 2px 6px; font-size: 12px; }
.track { position: relative; flex: auto; }
.bar { position: absolute; top: 4px; height: 14px; min-width: 2px; border-radius: 2px; }
.bar.critical { outline: 2px solid #000; }
.dur { font-size: 11px; color: #555; position: absolute; top: 3px; white-space: nowrap; }
details { font-size: 12px; } details pre { margin: 2px 0 4px; white-space: pre-wrap; }
"""


def service_colours(report: dict[str, Any]) -> dict[str, str]:
    """Each service of the report's page (and `QUEUED`) with its colour."""
    names = sorted(
        {span["service"] for trace in report["slowest"] for span in trace["spans"]}
        | {s for row in report["endpoints"] for s in row["critical_path_share"]}
    )
    colours = {
        name: PALETTE[i % len(PALETTE)] for i, name in enumerate(n for n in names if n != QUEUED)
    }
    return {**colours, QUEUED: QUEUED_COLOUR}


def _share_bar(shares: dict[str, float], colour: dict[str, str]) -> str:
    parts = "".join(
        f'<span style="width:{share * 100:.2f}%;background:{colour[service]}" '
        f'title="{escape(service)} {share:.1%}"></span>'
        for service, share in shares.items()
    )
    text = ", ".join(f"{escape(service)} {share:.0%}" for service, share in shares.items())
    return f'<div class="share">{parts}</div><div>{text}</div>'


def _waterfall(trace: dict[str, Any], colour: dict[str, str]) -> str:
    total = trace["duration_ms"] or 1.0
    rows = []
    for span in trace["spans"]:
        left = span["offset_ms"] / total * 100
        width = span["duration_ms"] / total * 100
        critical = " critical" if span["critical_ms"] > 0 else ""
        indent = "&nbsp;" * 2 * span["depth"]
        attributes = escape(json.dumps(span["attributes"], indent=1, default=str))
        rows.append(
            f'<div class="row" data-service="{escape(span["service"])}">'
            f'<div class="label">{indent}<b>{escape(span["service"])}</b> '
            f"{escape(span['name'])} <i>{escape(span['kind'])}</i>"
            f"<details><summary>attributes</summary><pre>{attributes}</pre></details></div>"
            f'<div class="track"><div class="bar{critical}" style="left:{left:.3f}%;'
            f'width:{width:.3f}%;background:{colour[span["service"]]}"></div>'
            f'<span class="dur" style="left:{min(left + width, 88):.3f}%">'
            f"&nbsp;{span['duration_ms']:.1f} ms</span></div></div>"
        )
    return (
        f"<h3>{escape(trace['endpoint'])}: {trace['duration_ms']:.1f} ms, "
        f"{len(trace['spans'])} spans <code>{escape(trace['trace_id'])}</code></h3>"
        f'<div class="waterfall" data-trace="{escape(trace["trace_id"])}">{"".join(rows)}</div>'
    )


def _more(rows: list[Any], shown: int) -> str:
    return f" ({shown} of {len(rows)}; all in the JSON)" if len(rows) > shown else ""


def render(report: dict[str, Any]) -> str:
    """The page of `report` (the JSON the command writes)."""
    colour = service_colours(report)
    legend = "".join(
        f'<span><i style="background:{colour[s]}"></i>{escape(s)}</span>' for s in colour
    )
    endpoint_rows = "".join(
        f"<tr><td>{escape(row['endpoint'])}</td><td class=num>{row['traces']}</td>"
        f"<td class=num>{row['p50_ms']:.1f}</td><td class=num>{row['p99_ms']:.1f}</td>"
        f"<td class=num>{row['spans_per_trace']}</td>"
        f"<td>{_share_bar(row['critical_path_share'], colour)}</td></tr>"
        for row in report["endpoints"][:TOP_ENDPOINTS]
    )
    span_rows = "".join(
        f"<tr><td>{escape(row['service'])}</td><td>{escape(row['span'])}</td>"
        f"<td>{escape(row['kind'])}</td><td class=num>{row['count']}</td>"
        f"<td class=num>{row['p50_ms']:.1f}</td><td class=num>{row['p99_ms']:.1f}</td>"
        f"<td class=num>{row['max_ms']:.1f}</td></tr>"
        for row in report["spans"][:TOP_SPANS]
    )
    waterfalls = "".join(_waterfall(trace, colour) for trace in report["slowest"])
    source = report["source"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Trace report</title>
<style>{STYLE}</style></head><body>
<h1>Where time goes: {report["traces"]} traces</h1>
<p>From {escape(source["jaeger"])}, services {escape(", ".join(source["services"]))},
last {escape(source["lookback"])}, generated {escape(report["generated_at"])}.
Durations in milliseconds. A bar outlined in black is on its trace's critical path;
<i>{QUEUED}</i> is time the path waited between services (outbox relay, Kafka, consumer
poll).</p>
<div class="legend">{legend}</div>
<h2>Endpoints, slowest p99 first{_more(report["endpoints"], TOP_ENDPOINTS)}</h2>
<table><tr><th>endpoint (root span)</th><th>traces</th><th>p50</th><th>p99</th>
<th>spans/trace</th><th>critical path share per service</th></tr>{endpoint_rows}</table>
<h2>Slowest traces</h2>{waterfalls}
<h2>Spans, slowest p99 first{_more(report["spans"], TOP_SPANS)}</h2>
<table><tr><th>service</th><th>span</th><th>kind</th><th>count</th><th>p50</th><th>p99</th>
<th>max</th></tr>{span_rows}</table>
</body></html>
"""
