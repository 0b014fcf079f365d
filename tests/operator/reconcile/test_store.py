"""The status and events a pass produces, without a cluster: invalid specs and transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from productstore_operator.conditions import set_condition
from productstore_operator.handlers import _status_patch
from productstore_operator.models import Condition
from productstore_operator.reconcile.store import _transition_events, invalid_outcome

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def conditions(**statuses: str) -> list[Condition]:
    result: list[Condition] = []
    for condition_type, status in statuses.items():
        result = set_condition(
            result,
            condition_type,
            status,  # type: ignore[arg-type]
            reason="Because",
            message=f"{condition_type} message",
            generation=1,
            now=NOW,
        )
    return result


def test_an_invalid_spec_fails_ready_once_and_keeps_the_rest() -> None:
    before: dict[str, Any] = {
        "phase": "Ready",
        "services": {"auth": {"desiredReplicas": 2, "readyReplicas": 2}},
        "conditions": [c.model_dump(mode="json", by_alias=True) for c in conditions(Ready="True")],
    }
    outcome = invalid_outcome("orders calls catalog", before, 2, NOW + timedelta(minutes=1))
    assert outcome.invalid == "orders calls catalog"
    assert outcome.result == "invalid"
    status = outcome.status
    assert status["phase"] == "Failed"
    assert status["observedGeneration"] == 2
    assert status["services"] == before["services"]  # what runs keeps running
    (ready,) = status["conditions"]
    assert ready["status"] == "False"
    assert ready["reason"] == "InvalidSpec"
    assert "orders calls catalog" in ready["message"]
    assert "Nothing was changed" in ready["message"]
    assert [(e.type, e.reason) for e in outcome.events] == [("Warning", "InvalidSpec")]

    # The timer's next pass over the same spec: same status, no second event.
    again = invalid_outcome("orders calls catalog", status, 2, NOW + timedelta(minutes=2))
    assert again.events == []
    assert again.status["conditions"][0]["lastTransitionTime"] == ready["lastTransitionTime"]


def test_events_tell_readys_changes_and_failing_components_only() -> None:
    before = conditions(SecretsReady="True", ServicesReady="True", Ready="True")
    after = conditions(SecretsReady="True", ServicesReady="False", Ready="False")
    events = _transition_events(before, after)
    assert [(e.type, e.reason) for e in events] == [("Warning", "Because")] * 2
    assert [e.message.split(" is ")[0] for e in events] == ["ServicesReady", "Ready"]
    # A component that recovers says nothing; Ready does.
    events = _transition_events(after, before)
    assert [e.message.split(" is ")[0] for e in events] == ["Ready"]
    assert events[0].type == "Normal"
    assert _transition_events(before, before) == []


def test_status_patch_removes_services_that_are_gone() -> None:
    old = {"services": {"auth": {"desiredReplicas": 2}, "analytics": {"desiredReplicas": 1}}}
    new = {"phase": "Ready", "services": {"auth": {"desiredReplicas": 3}}}
    assert _status_patch(old, new) == {
        "phase": "Ready",
        "services": {"auth": {"desiredReplicas": 3}, "analytics": None},
    }
