"""The operator's Prometheus metrics, on a registry of its own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

PHASES: Final = ("Pending", "Reconciling", "Ready", "Degraded", "Failed", "Deleting")
# What one reconcile pass ends as (Outcome.result), and the helm operations counted.
RESULTS: Final = ("ready", "progressing", "invalid", "error")
HELM_OUTCOMES: Final = (("upgrade", "success"), ("upgrade", "failure"), ("rollback", "success"))


class Metrics:
    """Counters and histograms of reconcile passes, and stores per phase."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reconciles = Counter(
            "productstore_operator_reconciles",
            "Reconcile passes by result: ready, progressing, invalid or error.",
            ["result"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "productstore_operator_reconcile_duration_seconds",
            "Duration of one reconcile pass over one store.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=self.registry,
        )
        self.errors = Counter(
            "productstore_operator_reconcile_errors",
            "Passes stopped by a failure outside the spec, by step.",
            ["step"],
            registry=self.registry,
        )
        self.step_duration = Histogram(
            "productstore_operator_step_duration_seconds",
            "Duration of one reconcile step over one store, by step.",
            ["step"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=self.registry,
        )
        self.helm = Counter(
            "productstore_operator_helm_operations",
            "helm upgrades and rollbacks by result: success or failure.",
            ["operation", "result"],
            registry=self.registry,
        )
        self.stores = Gauge(
            "productstore_operator_stores",
            "ProductStores by status phase, as this operator last saw them.",
            ["phase"],
            registry=self.registry,
        )
        self._phases: dict[str, str] = {}
        # Every series a dashboard reads exists from the start, at 0: a rate over
        # a result or helm outcome that never happened is 0, not absent.
        for result in RESULTS:
            self.reconciles.labels(result=result)
        for operation, outcome in HELM_OUTCOMES:
            self.helm.labels(operation=operation, result=outcome)
        for phase in PHASES:
            self.stores.labels(phase=phase).set(0)

    def declare_steps(self, steps: Iterable[str]) -> None:
        """Create every step's series at zero: a rate over a step that never failed
        is 0, not absent."""
        for step in steps:
            self.errors.labels(step=step)
            self.step_duration.labels(step=step)

    def set_phase(self, uid: str, phase: str | None) -> None:
        """Record a store's phase (None: the store is gone)."""
        if phase is None:
            self._phases.pop(uid, None)
        else:
            self._phases[uid] = phase
        counts: Mapping[str, int] = {
            p: sum(1 for v in self._phases.values() if v == p) for p in PHASES
        }
        for p, n in counts.items():
            self.stores.labels(phase=p).set(n)

    def serve(self, address: str, port: int) -> None:
        """Serve /metrics on a background thread (port 0: not at all)."""
        if port:
            start_http_server(port, addr=address, registry=self.registry)
