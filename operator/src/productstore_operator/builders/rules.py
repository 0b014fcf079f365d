"""Prometheus rules of one store: SLO recordings, burn-rate alerts, symptom alerts.

``build_rule_groups`` turns ``spec.observability.slos`` into rule groups in
Sloth's shape (the SRE workbook's multiwindow, multi-burn-rate alerting):

- per enabled service and objective, the error ratio of its SLI over 5m, 30m,
  1h, 2h, 6h, 1d, 3d and 30d (``slo:sli_error:ratio_rate<window>``; the 30-day
  one averages the 5-minute one, as Sloth does, instead of a 30-day rate);
- the objective, the error budget, the burn rates and the error budget
  remaining over the period;
- four alerts per objective: critical at 14.4x the budget's burn over 1h and
  5m and 6x over 6h and 30m, warning at 3x over 1d and 2h and 1x over 3d and 6h;
- symptom alerts on metrics the services export today (scrape down, readiness
  refused, a dependency unavailable, outbox backlog, a consumer group falling
  behind, reservations fighting over stock).

The same groups become the chart's PrometheusRule (through the release values)
and devstack's rule file, so what a cluster and a laptop alert on is one thing.
Every series is selected by the store's ``namespace`` and ``store`` labels
(the chart's ServiceMonitors add them) and the service's ``service`` label.
No I/O: the groups are plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from productstore_contracts.metrics import (
    OPERATIONAL_ROUTES,
    READ_METHODS,
    READINESS_ROUTE,
    REQUEST_DURATION,
    REQUESTS_TOTAL,
    bucket_label,
)
from productstore_operator.builders.naming import StoreRef
from productstore_operator.builders.settings import DEFAULT_RUNBOOK_BASE_URL
from productstore_operator.models import ProductStoreSpec
from productstore_operator.models.observability import SLO_PERIOD

# The windows Sloth records; the alerts below read pairs of them.
SLI_WINDOWS: Final = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
SLI_ERROR: Final = "slo:sli_error:ratio_rate"
# Objectives in the order their rules are written.
SLO_KINDS: Final = ("availability", "latency")


@dataclass(frozen=True)
class BurnRateAlert:
    """One multiwindow burn-rate alert: fires while both windows burn faster than factor."""

    name: str
    severity: str
    factor: float
    long_window: str
    short_window: str
    # How long the budget lasts at this burn, for the description.
    exhausts_in: str


# The SRE workbook's table for a 30-day budget: 14.4x spends 2 % of it in an
# hour, 6x 5 % in six hours (page); 3x 10 % in a day, 1x all of it in 30 days (ticket).
BURN_RATE_ALERTS: Final = (
    BurnRateAlert("SLOErrorBudgetBurn1h", "critical", 14.4, "1h", "5m", "about 2 days"),
    BurnRateAlert("SLOErrorBudgetBurn6h", "critical", 6.0, "6h", "30m", "5 days"),
    BurnRateAlert("SLOErrorBudgetBurn1d", "warning", 3.0, "1d", "2h", "10 days"),
    BurnRateAlert("SLOErrorBudgetBurn3d", "warning", 1.0, "3d", "6h", "30 days"),
)


@dataclass(frozen=True)
class SymptomAlert:
    """An alert on a metric the services export, by store and service."""

    name: str
    severity: str
    expr: str  # <selector> stands for the store's matchers
    for_: str
    summary: str
    description: str


SYMPTOM_ALERTS: Final = (
    SymptomAlert(
        "ServiceDown",
        "critical",
        "max by (namespace, store, service) (up{<selector>}) == 0",
        "5m",
        "{{ $labels.service }} of store {{ $labels.store }} cannot be scraped",
        "Prometheus has not reached any of {{ $labels.service }}'s /metrics for 5 minutes: "
        "its Pods are down, crash-looping or unreachable.",
    ),
    SymptomAlert(
        "ServiceNotReady",
        "warning",
        f"sum by (namespace, store, service) (rate({REQUESTS_TOTAL}{{<selector>, "
        f'route="{READINESS_ROUTE}", status="503"}}[5m])) > 0'
        f" unless sum by (namespace, store, service) (rate({REQUESTS_TOTAL}{{<selector>, "
        f'route="{READINESS_ROUTE}", status="200"}}[5m])) > 0',
        "5m",
        "{{ $labels.service }} of store {{ $labels.store }} has answered not ready for 5 minutes",
        "Every readiness probe of {{ $labels.service }} got 503 for 5 minutes and none got "
        "200: a dependency it checks does not answer, so Kubernetes sends it no traffic.",
    ),
    SymptomAlert(
        "ReadinessFlapping",
        "warning",
        # The share of readiness probes that failed while others passed: all failing is
        # ServiceNotReady, none failing is health.
        f"sum by (namespace, store, service) (rate({REQUESTS_TOTAL}{{<selector>, "
        f'route="{READINESS_ROUTE}", status="503"}}[15m]))'
        f" / sum by (namespace, store, service) (rate({REQUESTS_TOTAL}{{<selector>, "
        f'route="{READINESS_ROUTE}", status=~"200|503"}}[15m])) > 0 < 1',
        "15m",
        "{{ $labels.service }} of store {{ $labels.store }} keeps going in and out of ready",
        "{{ $value | humanizePercentage }} of {{ $labels.service }}'s readiness probes failed "
        "over 15 minutes while the others passed: a dependency that answers only sometimes "
        "(timeouts near the probe's), or replicas of which some are not ready, so "
        "Kubernetes keeps taking Pods out of the Service and putting them back.",
    ),
    SymptomAlert(
        "DependencyUnavailable",
        "critical",
        "sum by (namespace, store, service, dependency) "
        "(rate(dependency_unavailable_total{<selector>}[5m])) > 0",
        "5m",
        "{{ $labels.service }} of store {{ $labels.store }} answers 503: "
        "{{ $labels.dependency }} is unavailable",
        "{{ $labels.service }} has answered requests with 503 for 5 minutes because "
        "{{ $labels.dependency }} did not answer ({{ $value | humanize }} per second).",
    ),
    SymptomAlert(
        "OutboxBacklog",
        "warning",
        "max by (namespace, store, service) (outbox_oldest_pending_age_seconds{<selector>}) > 300",
        "5m",
        "{{ $labels.service }} of store {{ $labels.store }} has not published events "
        "for over 5 minutes",
        "The oldest event in {{ $labels.service }}'s outbox is {{ $value | humanizeDuration }} "
        "old: the relay cannot publish to Kafka, and consumers (inventory, notifications) "
        "fall behind.",
    ),
    SymptomAlert(
        "ConsumerLagGrowing",
        "warning",
        # Over a thousand records behind and still losing ground: a backlog that drains
        # by itself (a burst, a restart) has a falling lag and stays quiet.
        "max by (namespace, store, service, group) (event_consumer_lag_records{<selector>}) "
        "> 1000 and max by (namespace, store, service, group) "
        "(deriv(event_consumer_lag_records{<selector>}[10m])) > 0",
        "10m",
        "{{ $labels.service }} of store {{ $labels.store }} falls behind on {{ $labels.group }}",
        "Consumer group {{ $labels.group }} of {{ $labels.service }} is {{ $value | humanize }} "
        "records behind its partitions' ends and the lag has grown for 10 minutes: it "
        "handles events more slowly than they arrive, so what they trigger happens late.",
    ),
    SymptomAlert(
        "ReservationConflictsHigh",
        "warning",
        "sum by (namespace, store, service) "
        "(rate(inventory_reservation_conflicts_total{<selector>}[5m])) / "
        "sum by (namespace, store, service) (rate(inventory_reservations_total{<selector>}[5m])) "
        "> 0.5",
        "10m",
        "{{ $labels.service }} of store {{ $labels.store }} retries many stock writes",
        "Stock writes lost a compare-and-set and were retried {{ $value | humanize }} times "
        "per reservation decided, for 10 minutes: many checkouts want the same products at "
        "once, and each retry costs a Paxos round in Cassandra and checkout latency.",
    ),
    SymptomAlert(
        "LowStockBacklog",
        "warning",
        # A week: the reorder lead time inventory plans with by default. A product low
        # for longer has had time to be reordered and received, and was not.
        "max by (namespace, store, service) "
        "(inventory_low_stock_oldest_seconds{<selector>}) > 7 * 86400",
        "1h",
        "{{ $labels.service }} of store {{ $labels.store }} has products low for over a week",
        "A product has been at or below its low-stock threshold for "
        "{{ $value | humanizeDuration }}, longer than a reorder's lead time: its reorder "
        "suggestion was not acted on, or the delivery did not arrive. "
        "inventory_low_stock_products says how many are low now.",
    ),
)

ALERT_NAMES: Final = (
    *(alert.name for alert in BURN_RATE_ALERTS),
    *(alert.name for alert in SYMPTOM_ALERTS),
)


def _matchers(labels: Mapping[str, str]) -> str:
    return ", ".join(f'{name}="{value}"' for name, value in labels.items())


def _number(value: Decimal) -> str:
    # Plain decimal notation (0.001, not 1E-3), which PromQL and people read alike.
    return format(value.normalize(), "f")


def _store_labels(store: StoreRef) -> dict[str, str]:
    return {"namespace": store.namespace, "store": store.name}


def _not_operational() -> str:
    return f'route!~"{"|".join(OPERATIONAL_ROUTES)}"'


def _sli_error_expr(kind: str, service_selector: str, window: str, threshold_seconds: float) -> str:
    """The share of bad events of one SLI over ``window``."""
    if kind == "availability":
        requests = f"{REQUESTS_TOTAL}{{{service_selector}, {_not_operational()}"
        return (
            f'(sum(rate({requests}, status=~"5.."}}[{window}])) or vector(0))'
            f" / sum(rate({requests}}}[{window}]))"
        )
    reads = f'{service_selector}, {_not_operational()}, method=~"{"|".join(READ_METHODS)}"'
    le = bucket_label(threshold_seconds)
    return (
        f"1 - (sum(rate({REQUEST_DURATION}_bucket{{{reads}, "
        f'le="{le}"}}[{window}]))'
        f" / sum(rate({REQUEST_DURATION}_count{{{reads}}}[{window}])))"
    )


@dataclass(frozen=True)
class _Objective:
    service: str
    kind: str
    objective: Decimal  # percent
    threshold_seconds: float  # latency only

    @property
    def ratio(self) -> Decimal:
        return self.objective / 100

    @property
    def budget(self) -> Decimal:
        return (100 - self.objective) / 100

    def describe(self) -> str:
        if self.kind == "availability":
            return f"{_number(self.objective)} % of requests without a 5xx"
        ms = round(self.threshold_seconds * 1000)
        return f"{_number(self.objective)} % of reads under {ms} ms"


def objectives(spec: ProductStoreSpec) -> list[_Objective]:
    """The enabled objectives of the enabled services, in service order."""
    found: list[_Objective] = []
    for service in spec.services.enabled():
        slos = spec.observability.slos.get(service)
        if slos.availability.enabled:
            found.append(
                _Objective(service, "availability", Decimal(str(slos.availability.objective)), 0.0)
            )
        if slos.latency.enabled:
            found.append(
                _Objective(
                    service,
                    "latency",
                    Decimal(str(slos.latency.objective)),
                    slos.latency.threshold_milliseconds / 1000,
                )
            )
    return found


def _slo_groups(
    objective: _Objective, store: StoreRef, runbook_base_url: str
) -> list[dict[str, Any]]:
    labels = {**_store_labels(store), "service": objective.service, "slo": objective.kind}
    selector = _matchers(labels)
    service_selector = _matchers({**_store_labels(store), "service": objective.service})
    budget = _number(objective.budget)
    sli = [
        {
            "record": f"{SLI_ERROR}{window}",
            "expr": _sli_error_expr(
                objective.kind, service_selector, window, objective.threshold_seconds
            ),
            "labels": dict(labels),
        }
        for window in SLI_WINDOWS
    ]
    period = [
        {
            "record": f"{SLI_ERROR}{SLO_PERIOD}",
            "expr": f"sum_over_time({SLI_ERROR}5m{{{selector}}}[{SLO_PERIOD}])"
            f" / count_over_time({SLI_ERROR}5m{{{selector}}}[{SLO_PERIOD}])",
            "labels": dict(labels),
        },
        {
            "record": "slo:objective:ratio",
            "expr": f"vector({_number(objective.ratio)})",
            "labels": dict(labels),
        },
        {"record": "slo:error_budget:ratio", "expr": f"vector({budget})", "labels": labels},
        {
            "record": "slo:time_period:days",
            "expr": f"vector({SLO_PERIOD.removesuffix('d')})",
            "labels": dict(labels),
        },
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": f"{SLI_ERROR}5m{{{selector}}} / {budget}",
            "labels": dict(labels),
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": f"{SLI_ERROR}{SLO_PERIOD}{{{selector}}} / {budget}",
            "labels": dict(labels),
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{{{selector}}}",
            "labels": dict(labels),
        },
    ]
    alerts = [
        _burn_rate_alert(alert, objective, store, selector, budget, runbook_base_url)
        for alert in BURN_RATE_ALERTS
    ]
    group = f"slo-{objective.service}-{objective.kind}"
    return [
        {"name": f"{group}-sli", "rules": sli},
        {"name": f"{group}-meta", "rules": period},
        {"name": f"{group}-alerts", "rules": alerts},
    ]


def _burn_rate_alert(  # noqa: PLR0917 - one call site, every argument a different thing
    alert: BurnRateAlert,
    objective: _Objective,
    store: StoreRef,
    selector: str,
    budget: str,
    runbook_base_url: str,
) -> dict[str, Any]:
    threshold = f"({_number(Decimal(str(alert.factor)))} * {budget})"
    return {
        "alert": alert.name,
        "expr": f"({SLI_ERROR}{alert.long_window}{{{selector}}} > {threshold})"
        f" and ({SLI_ERROR}{alert.short_window}{{{selector}}} > {threshold})",
        "labels": {
            **_store_labels(store),
            "service": objective.service,
            "slo": objective.kind,
            "severity": alert.severity,
        },
        "annotations": {
            "summary": f"{objective.service} of store {store.name} burns its {objective.kind} "
            f"error budget {_number(Decimal(str(alert.factor)))}x too fast",
            "description": f"Objective: {objective.describe()} over {SLO_PERIOD}. Over the "
            f"last {alert.long_window} and {alert.short_window} the error ratio has been above "
            f"{_number(Decimal(str(alert.factor)))} times the budget ({budget}); at this rate "
            f"the whole budget is gone in {alert.exhausts_in}.",
            "runbook_url": f"{runbook_base_url}/{alert.name}.md",
        },
    }


def _symptom_group(store: StoreRef, runbook_base_url: str) -> dict[str, Any]:
    selector = _matchers(_store_labels(store))
    return {
        "name": "symptoms",
        "rules": [
            {
                "alert": alert.name,
                "expr": alert.expr.replace("<selector>", selector),
                "for": alert.for_,
                "labels": {**_store_labels(store), "severity": alert.severity},
                "annotations": {
                    "summary": alert.summary,
                    "description": alert.description,
                    "runbook_url": f"{runbook_base_url}/{alert.name}.md",
                },
            }
            for alert in SYMPTOM_ALERTS
        ],
    }


def build_rule_groups(
    spec: ProductStoreSpec,
    store: StoreRef,
    *,
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL,
) -> list[dict[str, Any]]:
    """The store's rule groups: a PrometheusRule's ``spec.groups``, or a rule file's ``groups``."""
    groups: list[dict[str, Any]] = []
    for objective in objectives(spec):
        groups += _slo_groups(objective, store, runbook_base_url.rstrip("/"))
    groups.append(_symptom_group(store, runbook_base_url.rstrip("/")))
    return groups
