"""Every alert the rule builder renders, run by `promtool test rules`.

The rules come from the builder for a real spec (written to a temporary file),
and each alert gets input series that make it fire and series that must not:
the burn-rate alerts with error ratios on both sides of their thresholds and
with a clean short window; the symptom alerts on the services' own metrics.
The expected annotations are the builder's, with Prometheus's templating
done by hand, so a wrong label or runbook link fails here.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.components.prometheus import Prometheus
from productstore_operator.builders import StoreRef
from productstore_operator.builders.rules import ALERT_NAMES, build_rule_groups
from productstore_operator.models import ProductStoreSpec
from tests.operator.spec_cases import spec_with

STORE = StoreRef("shop", "shop-ns")
STORE_LABELS = {"namespace": STORE.namespace, "store": STORE.name}
# catalog keeps the defaults (99.9 % available, 99 % of reads under 200 ms); the
# other services' objectives are off, so promtool evaluates a third of the rules.
_OFF = {"availability": {"enabled": False}, "latency": {"enabled": False}}
SPEC = ProductStoreSpec.model_validate(
    spec_with({"observability.slos.auth": _OFF, "observability.slos.inventory": _OFF})
)
GROUPS = build_rule_groups(SPEC, STORE)

CATALOG = {**STORE_LABELS, "service": "catalog"}
INVENTORY = {**STORE_LABELS, "service": "inventory"}
REQUESTS = 'http_requests_total{{{labels}, route="/api/products", method="GET", status="{status}"}}'
DURATION = (
    'http_request_duration_seconds_{suffix}{{{labels}, route="/api/products", method="GET"{le}}}'
)
MINUTE_TOTAL = 1000  # requests per minute in every scenario


def _labels(labels: dict[str, str]) -> str:
    return ", ".join(f'{k}="{v}"' for k, v in labels.items())


def _readyz(status: str) -> str:
    labels = _labels({**CATALOG, "route": "/readyz", "method": "GET", "status": status})
    return f"http_requests_total{{{labels}}}"


def _unavailable(dependency: str) -> str:
    return f'dependency_unavailable_total{{{_labels(CATALOG)}, dependency="{dependency}"}}'


def _lag() -> str:
    return f'event_consumer_lag_records{{{_labels(CATALOG)}, group="catalog-stock"}}'


def _oldest_low() -> str:
    return f'inventory_low_stock_oldest_seconds{{{_labels(INVENTORY)}, instance="a"}}'


def _reservations(
    *, conflicts_per_minute: int, reservations_per_minute: int
) -> list[dict[str, str]]:
    """Inventory's retried compare-and-sets and reservations decided, steady for 20 minutes."""
    labels = _labels(INVENTORY)
    return [
        {
            "series": f"inventory_reservation_conflicts_total{{{labels}}}",
            "values": f"0+{conflicts_per_minute}x20",
        },
        {
            "series": f'inventory_reservations_total{{{labels}, outcome="reserved"}}',
            "values": f"0+{reservations_per_minute}x20",
        },
    ]


def _traffic(error_per_mille: list[tuple[int, int]]) -> list[dict[str, str]]:
    """Availability series: (minutes, errors per 1000 requests) phases, 1000 requests a minute."""
    ok, bad = [], []
    for minutes, errors in error_per_mille:
        ok.append((MINUTE_TOTAL - errors, minutes))
        bad.append((errors, minutes))
    return [
        {"series": REQUESTS.format(labels=_labels(CATALOG), status="200"), "values": _phases(ok)},
        {"series": REQUESTS.format(labels=_labels(CATALOG), status="500"), "values": _phases(bad)},
    ]


def _half_budget(minutes: int) -> list[dict[str, str]]:
    """Availability series at 0.05 % errors (2000 requests a minute, 1 failing)."""
    return [
        {
            "series": REQUESTS.format(labels=_labels(CATALOG), status="200"),
            "values": f"0+1999x{minutes}",
        },
        {
            "series": REQUESTS.format(labels=_labels(CATALOG), status="500"),
            "values": f"0+1x{minutes}",
        },
    ]


def _slow_reads(slow_per_mille: int, minutes: int) -> list[dict[str, str]]:
    """Latency series: every minute 1000 reads, slow_per_mille of them over 200 ms."""
    labels = _labels(CATALOG)
    fast = MINUTE_TOTAL - slow_per_mille
    return [
        {
            "series": DURATION.format(suffix="bucket", labels=labels, le=', le="0.2"'),
            "values": f"0+{fast}x{minutes}",
        },
        {
            "series": DURATION.format(suffix="bucket", labels=labels, le=', le="+Inf"'),
            "values": f"0+{MINUTE_TOTAL}x{minutes}",
        },
        {
            "series": DURATION.format(suffix="count", labels=labels, le=""),
            "values": f"0+{MINUTE_TOTAL}x{minutes}",
        },
    ]


def _phases(phases: list[tuple[int, int]]) -> str:
    """promtool's expanding notation for a counter growing by step per minute, phase by phase."""
    (step, minutes), *rest = phases
    parts, last = [f"0+{step}x{minutes}"], step * minutes
    for step, minutes in rest:
        # The next phase's first sample is a minute after the last one.
        parts.append(f"{last + step}+{step}x{minutes - 1}")
        last += step * minutes
    return " ".join(parts)


def _rule(alert: str, **labels: str) -> dict[str, Any]:
    for group in GROUPS:
        rule: dict[str, Any]
        for rule in group["rules"]:
            if rule.get("alert") == alert and all(
                rule["labels"].get(k) == v for k, v in labels.items()
            ):
                return rule
    raise LookupError(f"no {alert} with {labels}")


def _expand(text: str, labels: dict[str, str], value: str | None) -> str:
    """Prometheus's alert templating, for the few forms the builder uses."""
    text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)
    if value is not None:
        text = re.sub(r"\{\{ \$value \| \w+ \}\}", value, text)
    assert "{{" not in text, text
    return text


@dataclass(frozen=True)
class Case:
    """One scenario: input series, and at eval_time the alerts (labels) that fire."""

    id: str
    alert: str
    series: list[dict[str, str]]
    eval_time: str
    firing: list[dict[str, str]] = field(default_factory=list)
    # The text Prometheus makes of "{{ $value | ... }}", where the alert has one.
    value: str | None = None


def _slo(service: str, slo: str, severity: str) -> dict[str, str]:
    return {**STORE_LABELS, "service": service, "slo": slo, "severity": severity}


CASES = [
    # 2 % errors: above 14.4 x 0.1 % in both windows.
    Case(
        "burn-1h-fires",
        "SLOErrorBudgetBurn1h",
        _traffic([(120, 20)]),
        "2h",
        [_slo("catalog", "availability", "critical")],
    ),
    # 1 % errors: under 14.4x, so only the slower alerts fire.
    Case("burn-1h-quiet-under-threshold", "SLOErrorBudgetBurn1h", _traffic([(120, 10)]), "2h"),
    # 2 % for an hour, then clean: the 1h window is still over, the 5m one is not.
    Case(
        "burn-1h-resolves-when-short-window-clean",
        "SLOErrorBudgetBurn1h",
        _traffic([(60, 20), (15, 0)]),
        "75m",
    ),
    Case(
        "burn-1h-latency-fires",
        "SLOErrorBudgetBurn1h",
        _slow_reads(200, 120),
        "2h",
        [_slo("catalog", "latency", "critical")],
    ),
    Case("burn-1h-latency-quiet", "SLOErrorBudgetBurn1h", _slow_reads(100, 120), "2h"),
    Case(
        "burn-6h-fires",
        "SLOErrorBudgetBurn6h",
        _traffic([(420, 10)]),
        "7h",
        [_slo("catalog", "availability", "critical")],
    ),
    Case("burn-6h-quiet-under-threshold", "SLOErrorBudgetBurn6h", _traffic([(420, 5)]), "7h"),
    Case(
        "burn-6h-resolves-when-short-window-clean",
        "SLOErrorBudgetBurn6h",
        _traffic([(360, 10), (40, 0)]),
        "400m",
    ),
    Case(
        "burn-1d-fires",
        "SLOErrorBudgetBurn1d",
        _traffic([(1560, 5)]),
        "26h",
        [_slo("catalog", "availability", "warning")],
    ),
    Case("burn-1d-quiet-under-threshold", "SLOErrorBudgetBurn1d", _traffic([(1560, 2)]), "26h"),
    Case(
        "burn-1d-resolves-when-short-window-clean",
        "SLOErrorBudgetBurn1d",
        _traffic([(1440, 5), (150, 0)]),
        "1590m",
    ),
    Case(
        "burn-3d-fires",
        "SLOErrorBudgetBurn3d",
        _traffic([(4380, 2)]),
        "73h",
        [_slo("catalog", "availability", "warning")],
    ),
    # 1 error in 2000 requests: half the budget's rate.
    Case("burn-3d-quiet-under-threshold", "SLOErrorBudgetBurn3d", _half_budget(4380), "73h"),
    Case(
        "service-down-fires",
        "ServiceDown",
        [
            {
                "series": f'up{{{_labels(CATALOG)}, job="catalog", instance="10.0.0.1:8000"}}',
                "values": "1x2 0x15",
            }
        ],
        "15m",
        [{**CATALOG, "severity": "critical"}],
    ),
    Case(
        "service-down-quiet-while-one-target-answers",
        "ServiceDown",
        [
            {
                "series": f'up{{{_labels(CATALOG)}, job="catalog", instance="10.0.0.1:8000"}}',
                "values": "0x15",
            },
            {
                "series": f'up{{{_labels(CATALOG)}, job="catalog", instance="10.0.0.2:8000"}}',
                "values": "1x15",
            },
        ],
        "15m",
    ),
    Case(
        "not-ready-fires",
        "ServiceNotReady",
        [
            {
                "series": _readyz("200"),
                "values": "5x15",
            },
            {
                "series": _readyz("503"),
                "values": "0+6x15",
            },
        ],
        "15m",
        [{**CATALOG, "severity": "warning"}],
    ),
    Case(
        "not-ready-quiet-while-some-probes-pass",
        "ServiceNotReady",
        [
            {
                "series": _readyz("200"),
                "values": "0+3x15",
            },
            {
                "series": _readyz("503"),
                "values": "0+3x15",
            },
        ],
        "15m",
    ),
    # Half the probes fail for 40 minutes: in and out of ready all along.
    Case(
        "readiness-flapping-fires",
        "ReadinessFlapping",
        [
            {"series": _readyz("200"), "values": "0+3x40"},
            {"series": _readyz("503"), "values": "0+3x40"},
        ],
        "35m",
        [{**CATALOG, "severity": "warning"}],
        value="50%",
    ),
    Case(
        "readiness-flapping-quiet-when-healthy",
        "ReadinessFlapping",
        [
            {"series": _readyz("200"), "values": "0+6x40"},
            {"series": _readyz("503"), "values": "0x40"},
        ],
        "35m",
    ),
    # Every probe fails: ServiceNotReady's case, not flapping.
    Case(
        "readiness-flapping-quiet-when-never-ready",
        "ReadinessFlapping",
        [
            {"series": _readyz("200"), "values": "5x40"},
            {"series": _readyz("503"), "values": "0+6x40"},
        ],
        "35m",
    ),
    Case(
        "cassandra-unavailable-fires",
        "DependencyUnavailable",
        [
            {
                "series": _unavailable("cassandra"),
                "values": "0+60x15",
            },
            {
                "series": _unavailable("redis"),
                "values": "0x15",
            },
        ],
        "15m",
        [{**CATALOG, "dependency": "cassandra", "severity": "critical"}],
        value="1",
    ),
    Case(
        "dependency-quiet-without-503s",
        "DependencyUnavailable",
        [
            {
                "series": _unavailable("cassandra"),
                "values": "3x15",
            }
        ],
        "15m",
    ),
    Case(
        "outbox-backlog-fires",
        "OutboxBacklog",
        [
            {
                "series": f'outbox_oldest_pending_age_seconds{{{_labels(CATALOG)}, instance="a"}}',
                "values": "600x15",
            }
        ],
        "15m",
        [{**CATALOG, "severity": "warning"}],
        value="10m 0s",
    ),
    Case(
        "outbox-backlog-quiet-under-five-minutes",
        "OutboxBacklog",
        [
            {
                "series": f'outbox_oldest_pending_age_seconds{{{_labels(CATALOG)}, instance="a"}}',
                "values": "240x15",
            }
        ],
        "15m",
    ),
    # 2,000 records behind and 100 more every minute: 5,000 at 30 minutes.
    Case(
        "consumer-lag-growing-fires",
        "ConsumerLagGrowing",
        [{"series": _lag(), "values": "2000+100x30"}],
        "30m",
        [{**CATALOG, "group": "catalog-stock", "severity": "warning"}],
        value="5k",
    ),
    Case(
        "consumer-lag-quiet-while-it-drains",
        "ConsumerLagGrowing",
        [{"series": _lag(), "values": "9000-100x30"}],
        "30m",
    ),
    Case(
        "consumer-lag-quiet-when-small",
        "ConsumerLagGrowing",
        [{"series": _lag(), "values": "0+10x30"}],
        "30m",
    ),
    # As many retried compare-and-sets as reservations decided: 1 per reservation.
    Case(
        "reservation-conflicts-fire",
        "ReservationConflictsHigh",
        _reservations(conflicts_per_minute=60, reservations_per_minute=60),
        "20m",
        [{**INVENTORY, "severity": "warning"}],
        value="1",
    ),
    # The oldest low product at 8 days and ageing: over a week, for over an hour.
    Case(
        "low-stock-backlog-fires",
        "LowStockBacklog",
        [
            {
                "series": _oldest_low(),
                "values": "691200+60x90",
            }
        ],
        "80m",
        [{**INVENTORY, "severity": "warning"}],
        value="8d 1h 20m 0s",
    ),
    Case(
        "low-stock-backlog-quiet-within-the-lead-time",
        "LowStockBacklog",
        [
            {
                "series": _oldest_low(),
                "values": "172800+60x90",
            }
        ],
        "80m",
    ),
    Case(
        "reservation-conflicts-quiet-under-one-in-two",
        "ReservationConflictsHigh",
        _reservations(conflicts_per_minute=10, reservations_per_minute=60),
        "20m",
    ),
]


def _expected(case: Case, labels: dict[str, str]) -> dict[str, Any]:
    rule = _rule(case.alert, **{k: v for k, v in labels.items() if k == "slo"})
    return {
        "exp_labels": labels,
        "exp_annotations": {
            key: _expand(text, labels, case.value) for key, text in rule["annotations"].items()
        },
    }


# Days of minutes make promtool evaluate every rule thousands of times (the 3-day
# cases took 100-300 s each). The alerts over a day or more (windows 1d/2h, 3d/6h, no
# `for`) and the 30-day budget are evaluated every 5 minutes instead: their shortest
# window is 24 of those steps, and the input stays one sample a minute.
LONG_WINDOW_ALERTS = {"SLOErrorBudgetBurn1d", "SLOErrorBudgetBurn3d"}
LONG_STEP = "5m"


def _run_promtool(
    promtool: Path, tmp_path: Path, tests: list[dict[str, Any]], evaluation_interval: str = "1m"
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": GROUPS}, sort_keys=False))
    unit = tmp_path / "test.yml"
    unit.write_text(
        yaml.safe_dump(
            {
                "rule_files": [rules.name],
                "evaluation_interval": evaluation_interval,
                "tests": tests,
            },
            sort_keys=False,
        )
    )
    result = subprocess.run(
        [str(promtool), "test", "rules", unit.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_alert(case: Case, prometheus: Prometheus, tmp_path: Path) -> None:
    test = {
        "interval": "1m",
        "input_series": case.series,
        "alert_rule_test": [
            {
                "eval_time": case.eval_time,
                "alertname": case.alert,
                "exp_alerts": [_expected(case, labels) for labels in case.firing],
            }
        ],
    }
    step = LONG_STEP if case.alert in LONG_WINDOW_ALERTS else "1m"
    _run_promtool(prometheus.promtool, tmp_path, [test], evaluation_interval=step)


def test_every_alert_fires_and_stays_quiet_in_some_case() -> None:
    fires = {c.alert for c in CASES if c.firing}
    quiet = {c.alert for c in CASES if not c.firing}
    assert fires == quiet == set(ALERT_NAMES)


def test_error_budget_remaining(prometheus: Prometheus, tmp_path: Path) -> None:
    # 0.05 % errors for a day: half the budget's rate, so half the budget is left
    # (the 30-day ratio averages the 5-minute ones recorded so far).
    labels = {**CATALOG, "slo": "availability"}
    test = {
        "interval": "1m",
        "input_series": _half_budget(1440),
        "promql_expr_test": [
            {
                "expr": f"slo:period_error_budget_remaining:ratio{{{_labels(labels)}}}",
                "eval_time": "1d",
                "exp_samples": [
                    {
                        "labels": f"slo:period_error_budget_remaining:ratio{{{_labels(labels)}}}",
                        "value": 0.5,
                    }
                ],
            },
            {
                "expr": f"slo:objective:ratio{{{_labels(labels)}}}",
                "eval_time": "1d",
                "exp_samples": [
                    {"labels": f"slo:objective:ratio{{{_labels(labels)}}}", "value": 0.999}
                ],
            },
        ],
    }
    _run_promtool(prometheus.promtool, tmp_path, [test], evaluation_interval=LONG_STEP)
