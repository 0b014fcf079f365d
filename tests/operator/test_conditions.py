"""set_condition and summarise, as tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from productstore_operator.conditions import (
    ALL_READY,
    INVALID_SPEC,
    NOT_OBSERVED,
    Status,
    set_condition,
    summarise,
)
from productstore_operator.models import Condition, ProductStoreStatus
from productstore_operator.models.status import (
    CASSANDRA_READY,
    MESH_CONFIGURED,
    READY,
    SECRETS_READY,
    SERVICES_READY,
)
from productstore_operator.reconcile.steps import COMPONENT_TYPES

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 12, 5, tzinfo=UTC)


def condition(type_: str, status: Status, reason: str = "Because", message: str = "m") -> Condition:
    return Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=T0,
        observed_generation=1,
    )


def test_adds_a_new_type_at_the_end() -> None:
    existing = [condition(SECRETS_READY, "True")]
    result = set_condition(
        existing, CASSANDRA_READY, "False", reason="Waiting", message="m", generation=2, now=T1
    )
    assert [c.type for c in result] == [SECRETS_READY, CASSANDRA_READY]
    assert result[1].last_transition_time == T1
    assert result[1].observed_generation == 2


@pytest.mark.parametrize(
    ("old", "new", "transition"),
    [("True", "True", T0), ("False", "False", T0), ("True", "False", T1), ("Unknown", "True", T1)],
)
def test_transition_time_moves_only_with_the_status(
    old: Status, new: Status, transition: datetime
) -> None:
    existing = [condition(SECRETS_READY, "True"), condition(CASSANDRA_READY, old)]
    result = set_condition(
        existing, CASSANDRA_READY, new, reason="Now", message="new", generation=3, now=T1
    )
    assert [c.type for c in result] == [SECRETS_READY, CASSANDRA_READY]
    replaced = result[1]
    assert (replaced.status, replaced.reason, replaced.message) == (new, "Now", "new")
    assert replaced.last_transition_time == transition
    assert replaced.observed_generation == 3
    assert result[0] == existing[0]


def test_result_fits_the_status_model() -> None:
    result = set_condition([], READY, "True", reason="Ok", message="", generation=1, now=T1)
    status = ProductStoreStatus(conditions=result)
    assert status.model_dump(mode="json")["conditions"][0]["lastTransitionTime"] == (
        "2026-01-01T12:05:00Z"
    )


ALL_TRUE = [condition(t, "True") for t in COMPONENT_TYPES]


@pytest.mark.parametrize(
    ("conditions", "phase", "status", "reason", "message"),
    [
        ([], "Pending", "Unknown", NOT_OBSERVED, "not observed yet"),
        (ALL_TRUE, "Ready", "True", ALL_READY, "Every component is ready."),
        (
            [
                condition(SECRETS_READY, "True"),
                condition(CASSANDRA_READY, "False", "Waiting", "no dc"),
            ],
            "Reconciling",
            "False",
            "Waiting",
            "CassandraReady: no dc",
        ),
        (
            [condition(SECRETS_READY, "True"), condition(CASSANDRA_READY, "Unknown", "Checking")],
            "Reconciling",
            "Unknown",
            "Checking",
            "CassandraReady: m",
        ),
        (
            [
                condition(SECRETS_READY, "True"),
                condition(CASSANDRA_READY, "True"),
                condition(SERVICES_READY, "True"),
                condition(MESH_CONFIGURED, "False", "ApplyFailed", "denied"),
            ],
            "Degraded",
            "False",
            "ApplyFailed",
            "MeshConfigured: denied",
        ),
        (
            [condition(SECRETS_READY, "False", INVALID_SPEC, "set vault.address")],
            "Failed",
            "False",
            INVALID_SPEC,
            "SecretsReady: set vault.address",
        ),
    ],
    ids=["nothing-yet", "all-ready", "cassandra-waiting", "unknown", "degraded", "invalid-spec"],
)
def test_summarise(
    conditions: list[Condition], phase: str, status: Status, reason: str, message: str
) -> None:
    result_phase, result = summarise(conditions, COMPONENT_TYPES, generation=4, now=T1)
    ready = next(c for c in result if c.type == READY)
    assert result_phase == phase
    assert (ready.status, ready.reason, ready.observed_generation) == (status, reason, 4)
    assert message in ready.message


def test_summarise_keeps_ready_transition_time_while_ready() -> None:
    _, first = summarise(ALL_TRUE, COMPONENT_TYPES, generation=1, now=T0)
    _, second = summarise(first, COMPONENT_TYPES, generation=2, now=T1)
    ready = next(c for c in second if c.type == READY)
    assert ready.last_transition_time == T0
    assert ready.observed_generation == 2
    assert [c.type for c in second] == [*COMPONENT_TYPES, READY]
