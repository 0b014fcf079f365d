"""What monitoring one store costs, and how much of it there is: issue 14's numbers.

    .venv/bin/python bench/monitoring_cost.py        # a few seconds; devstack running

Two parts:

- **Counted**: the rules, alerts and dashboards the operator renders for
  devstack's sample store (`manifests/samples/productstore-devstack.yaml`), from
  the builders themselves, beside the anchors' counts as issue 14 gives them
  (OpenTelemetry demo: 10 dashboards, 3 alert files; kube-prometheus-stack: 35
  dashboards, 155 alerts).
- **Scrape cost**, read from devstack's running Prometheus (its own API; nothing
  is started, changed or reloaded): the samples each scrape of the store's
  services returns (`scrape_samples_scraped`, labelled with the sample store)
  and per second at devstack's interval; the same for the servers the store uses
  (Cassandra's and Kafka's JMX exporters, shared by any stores they serve); the
  store's series in the head block; the rule groups' evaluation time; and
  Prometheus's own resident memory and head series (all of devstack's jobs, the
  store's included: an upper bound for one store). The services' series grow
  with the routes and statuses traffic has touched, so the numbers depend on
  what devstack has served since it started (recorded with them).

Output: JSON on stdout and in bench/results/monitoring-cost.json.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from devstack import sample_store
from devstack.components.prometheus import SCRAPE_INTERVAL
from productstore_operator.builders import StoreRef, build_rule_groups
from productstore_operator.builders.dashboards import build_dashboards
from productstore_operator.models import ProductStoreSpec

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "monitoring-cost.json"
PROMETHEUS = os.environ.get("PROMETHEUS_URL", "http://127.0.0.1:9090")
STORE = f'namespace="{sample_store.NAMESPACE}", store="{sample_store.NAME}"'
ANCHORS = {
    "opentelemetry-demo": {"dashboards": 10, "alert_files": 3},
    "kube-prometheus-stack": {"dashboards": 35, "alerts": 155},
}


def counted() -> dict[str, Any]:
    manifest = yaml.safe_load(sample_store.MANIFEST.read_text())
    spec = ProductStoreSpec.model_validate(manifest["spec"])
    store = StoreRef(sample_store.NAME, sample_store.NAMESPACE)
    rules = [rule for group in build_rule_groups(spec, store) for rule in group["rules"]]
    alerts = [rule for rule in rules if "alert" in rule]
    dashboards = build_dashboards(spec, store)
    panels = [
        panel
        for model in dashboards.values()
        for panel in model["panels"]
        if panel["type"] != "row"
    ]
    return {
        "recording_rules": len(rules) - len(alerts),
        "alert_rules": len(alerts),
        "alert_names": len({rule["alert"] for rule in alerts}),
        "dashboards": len(dashboards),
        "panels": len(panels),
        "queries": sum(len(panel.get("targets", [])) for panel in panels),
        "anchors": ANCHORS,
    }


def _query(client: httpx.Client, expr: str) -> list[dict[str, Any]]:
    body = client.get("/api/v1/query", params={"query": expr}).raise_for_status().json()
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _scalar(client: httpx.Client, expr: str) -> float:
    result = _query(client, expr)
    return float(result[0]["value"][1]) if result else 0.0


def scrape_cost(client: httpx.Client) -> dict[str, Any]:
    interval = float(SCRAPE_INTERVAL.removesuffix("s"))
    per_target = {
        f"{row['metric'].get('service', row['metric']['instance'])}": float(row["value"][1])
        for row in _query(client, f"scrape_samples_scraped{{{STORE}}}")
    }
    servers = {
        row["metric"]["job"]: float(row["value"][1])
        for row in _query(client, 'scrape_samples_scraped{job=~"cassandra|kafka"}')
    }
    store_samples = sum(per_target.values())
    return {
        "scrape_interval_seconds": interval,
        "store_targets": len(per_target),
        "store_samples_per_scrape": per_target,
        "store_samples_per_second": round(store_samples / interval, 1),
        "store_head_series": _scalar(client, f"count({{{STORE}}})"),
        "store_rule_series": _scalar(client, f'count({{{STORE}, __name__=~"slo:.*"}})'),
        "jmx_samples_per_scrape": servers,
        "jmx_samples_per_second": round(sum(servers.values()) / interval, 1),
        "rule_groups": _scalar(client, "count(prometheus_rule_group_rules)"),
        "rules_loaded": _scalar(client, "sum(prometheus_rule_group_rules)"),
        "rule_evaluation_seconds_per_round": round(
            _scalar(client, "sum(prometheus_rule_group_last_duration_seconds)"), 4
        ),
        "prometheus_resident_mb": round(
            _scalar(client, 'process_resident_memory_bytes{job="prometheus"}') / 2**20, 1
        ),
        "prometheus_head_series_all_jobs": _scalar(client, "prometheus_tsdb_head_series"),
        "prometheus_samples_per_second_all_jobs": round(
            _scalar(client, "rate(prometheus_tsdb_head_samples_appended_total[1m])"), 1
        ),
        "prometheus_uptime_seconds": round(
            _scalar(client, 'time() - process_start_time_seconds{job="prometheus"}')
        ),
        "store_requests_served_so_far": _scalar(client, f"sum(http_requests_total{{{STORE}}})"),
    }


def main() -> int:
    with httpx.Client(base_url=PROMETHEUS, timeout=10.0) as client:
        report = {"counted": counted(), "scrape": scrape_cost(client)}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
