"""The operator's metrics: the series its dashboard reads exist before anything happens."""

from __future__ import annotations

from productstore_operator.handlers import _HELM_EVENTS
from productstore_operator.metrics import HELM_OUTCOMES, PHASES, RESULTS, Metrics


def test_results_helm_outcomes_and_phases_start_at_zero() -> None:
    metrics = Metrics()
    value = metrics.registry.get_sample_value
    for result in RESULTS:
        assert value("productstore_operator_reconciles_total", {"result": result}) == 0
    for operation, outcome in HELM_OUTCOMES:
        labels = {"operation": operation, "result": outcome}
        assert value("productstore_operator_helm_operations_total", labels) == 0
    for phase in PHASES:
        assert value("productstore_operator_stores", {"phase": phase}) == 0


def test_every_helm_event_counted_is_one_created_at_zero() -> None:
    assert set(_HELM_EVENTS.values()) <= set(HELM_OUTCOMES)


def test_a_phase_counts_stores_and_a_gone_store_leaves() -> None:
    metrics = Metrics()
    metrics.set_phase("a", "Ready")
    metrics.set_phase("b", "Ready")
    metrics.set_phase("c", "Failed")
    metrics.set_phase("b", None)
    value = metrics.registry.get_sample_value
    assert value("productstore_operator_stores", {"phase": "Ready"}) == 1
    assert value("productstore_operator_stores", {"phase": "Failed"}) == 1
