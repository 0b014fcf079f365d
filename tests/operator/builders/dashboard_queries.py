"""The dashboards' queries as the tests read them: the metrics they name, and the
PromQL Grafana would send once it has filled the variables in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from devstack.jmx_exporter import CASSANDRA_CONFIG, KAFKA_CONFIG
from productstore_contracts.metrics import REQUEST_DURATION, REQUESTS_TOTAL

ROOT = Path(__file__).resolve().parents[3]
# PromQL words that are no metric.
KEYWORDS: Final = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
     "offset", "bool", "inf", "nan"}
)  # fmt: skip
_STRIP: Final = (
    re.compile(r'"(?:[^"\\]|\\.)*"'),  # string literals (matcher values, legends)
    re.compile(r"\{[^}]*\}"),  # label matchers
    re.compile(r"\[[^\]]*\]"),  # ranges
    re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"),
)
_IDENTIFIER: Final = re.compile(r"(?<![\w:.$])([A-Za-z_:][\w:]*)\b(?!\s*\()")
# A metric a service, the kit or the operator registers: the name is the first argument.
_REGISTERED: Final = re.compile(
    r'\b(counter|histogram|gauge|Counter|Histogram|Gauge)\(\s*"([a-z_:]+)"', re.DOTALL
)


def metric_names(expr: str) -> set[str]:
    """The metric (or recording rule) names ``expr`` selects."""
    stripped = expr
    for pattern in _STRIP:
        stripped = pattern.sub(" ", stripped)
    return {
        name
        for name in _IDENTIFIER.findall(stripped)
        if name not in KEYWORDS and not name.startswith("__")
    }


def exported_metrics() -> set[str]:
    """Every series name the code exports: counters (``_total``), histograms (``_bucket``,
    ``_count``, ``_sum``) and gauges registered in the services, the kit and the operator."""
    found: set[str] = set()
    sources = [*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("operator/src/**/*.py")]
    for source in sources:
        for kind, name in _REGISTERED.findall(source.read_text()):
            found |= _series(kind.lower(), name)
    # The kit's HTTP metrics take their names from the contracts.
    found |= _series("counter", REQUESTS_TOTAL) | _series("histogram", REQUEST_DURATION)
    # prometheus_client's process collector, and Prometheus's own series per target.
    found |= {"process_cpu_seconds_total", "process_resident_memory_bytes", "up"}
    return found


def jmx_exporter_names() -> list[re.Pattern[str]]:
    """The names devstack's JMX exporter rules give (Cassandra's and Kafka's), as
    patterns: a rule's ``$n`` is a lowercased capture of its MBean name, one word."""
    rules = [*CASSANDRA_CONFIG["rules"], *KAFKA_CONFIG["rules"]]
    return [re.compile(re.sub(r"\\\$\d", "[a-z0-9]+", re.escape(rule["name"]))) for rule in rules]


def is_exported(name: str, exported: set[str], jmx: list[re.Pattern[str]]) -> bool:
    return name in exported or any(pattern.fullmatch(name) for pattern in jmx)


def _series(kind: str, name: str) -> set[str]:
    if kind == "counter":
        return {name if name.endswith("_total") else f"{name}_total"}
    if kind == "histogram":
        return {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return {name}


def grafana_expr(
    expr: str,
    *,
    namespace: str,
    store: str,
    rate_interval: str,
    servers: dict[str, str] | None = None,
) -> str:
    """``expr`` with the dashboard's variables as Grafana fills them in; ``servers``
    are the server variables' values (scrape jobs) by name."""
    for name, value in (servers or {}).items():
        expr = expr.replace(f"${name}", value)
    return (
        expr.replace("$namespace", namespace)
        .replace("$store", store)
        .replace("$__rate_interval", rate_interval)
    )


def server_variables(model: dict[str, Any]) -> dict[str, str]:
    """The dashboard's server variables (a scrape job, ``label_values(..., job)``) and
    their defaults."""
    return {
        variable["name"]: variable["current"]["value"]
        for variable in model["templating"]["list"]
        if variable["type"] == "query" and variable["query"]["query"].endswith(", job)")
    }


def panel_queries(model: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) of every target of a Grafana dashboard model."""
    return [
        (panel["title"], target["expr"])
        for panel in model["panels"]
        for target in panel.get("targets", [])
    ]
