"""The step driver as a table: the real rows of ``STEPS``, each run replaced by a
function that returns a given StepResult, and the pass that follows from them
(which steps ran, conditions, phase, events, retry, the errors metric's label).

The step functions themselves talk to Vault, helm and the apiserver: the
handlers tests run them against devstack.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from productstore_operator.config import RuntimeConfig
from productstore_operator.io import Helm, Kube
from productstore_operator.models import ProductStoreStatus
from productstore_operator.models.status import (
    CASSANDRA_READY,
    MESH_CONFIGURED,
    READY,
    SECRETS_READY,
    SERVICES_READY,
)
from productstore_operator.reconcile import STEPS, Event, Step, StepResult
from productstore_operator.reconcile.context import PassContext
from productstore_operator.reconcile.outcome import POLL_SECONDS, RETRY_SECONDS
from productstore_operator.reconcile.plan import make_plan
from productstore_operator.reconcile.runtime import Runtime
from productstore_operator.reconcile.store import run_steps
from tests.operator.builders.support import SETTINGS
from tests.operator.spec_cases import load_sample

pytestmark = pytest.mark.anyio

CHART = Path(__file__).resolve().parents[3] / "charts" / "productstore"
NOW = datetime(2026, 1, 1, tzinfo=UTC)

READY_RESULT = StepResult.ready("Fine", "all good")
UPGRADED = Event("Normal", "Upgraded", "installed release shop (revision 1)")
DONE = {
    SECRETS_READY: READY_RESULT,
    CASSANDRA_READY: READY_RESULT,
    SERVICES_READY: StepResult.ready("ServicesAvailable", "2 services", [UPGRADED]),
    MESH_CONFIGURED: READY_RESULT,
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # kopf's loop


def context() -> PassContext:
    spec = load_sample("productstore-devstack")["spec"]
    plan = make_plan(name="shop", namespace="ns", uid="u", generation=2, spec=spec,
                     settings=SETTINGS)  # fmt: skip
    # Real clients that the replaced steps never call.
    runtime = Runtime(
        config=RuntimeConfig(), kube=Kube(client.ApiClient()), helm=Helm("helm", CHART, None, 1)
    )
    return PassContext(plan, runtime)


def table(results: dict[str, StepResult], ran: list[str]) -> list[Step]:
    """The real rows; each run records itself and returns its result."""

    def run_of(step: Step) -> Any:
        async def run(ctx: PassContext) -> StepResult:
            ran.append(step.condition)
            return results[step.condition]

        return run

    return [dataclasses.replace(step, run=run_of(step)) for step in STEPS]


@dataclasses.dataclass(frozen=True)
class Case:
    # The results that differ from DONE.
    results: dict[str, StepResult]
    steps_run: int
    phase: str
    # The errors metric's label, if the pass counts as an error.
    failed_step: str | None
    retry_after: float | None
    ready: str


CASES = {
    "all-ready": Case({}, 4, "Ready", None, None, "True"),
    "vault-down": Case(
        {SECRETS_READY: StepResult.failed("VaultUnavailable", "unreachable")},
        1, "Reconciling", "vault", RETRY_SECONDS, "False",
    ),
    "cassandra-provisioning": Case(
        {CASSANDRA_READY: StepResult.waiting("CassandraProvisioning", "dc1 is Updating")},
        2, "Reconciling", None, POLL_SECONDS, "False",
    ),
    "cassandra-api-error": Case(
        {CASSANDRA_READY: StepResult.failed("KubernetesError", "403")},
        2, "Reconciling", "cassandra", RETRY_SECONDS, "False",
    ),
    "rolling-out": Case(
        {SERVICES_READY: StepResult.waiting("RollingOut", "auth (1/2 ready)")},
        3, "Reconciling", None, POLL_SECONDS, "False",
    ),
    "release-pending": Case(
        {SERVICES_READY: StepResult.waiting("ReleasePending", "another helm")},
        3, "Reconciling", None, POLL_SECONDS, "False",
    ),
    "upgrade-failed": Case(
        {SERVICES_READY: StepResult.failed("UpgradeFailed", "quota", after=300.0)},
        3, "Reconciling", "services", 300.0, "False",
    ),
    "mesh-not-deployed": Case(
        {MESH_CONFIGURED: StepResult.waiting("ReleaseNotDeployed", "no", status="Unknown")},
        4, "Reconciling", None, POLL_SECONDS, "Unknown",
    ),
    "mesh-missing": Case(
        {MESH_CONFIGURED: StepResult.failed("IstioObjectsMissing", "gone", after=POLL_SECONDS)},
        4, "Degraded", "mesh", POLL_SECONDS, "False",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_the_driver_runs_rows_until_one_has_not_converged(case: Case) -> None:
    ran: list[str] = []
    results = {**DONE, **case.results}
    outcome = await run_steps(table(results, ran), context(), ProductStoreStatus(), NOW)
    order = [step.condition for step in STEPS]
    assert ran == order[: case.steps_run]
    status = ProductStoreStatus.model_validate(outcome.status)
    # One condition per step that ran, in table order, then Ready.
    assert [c.type for c in status.conditions] == [*order[: case.steps_run], READY]
    stopped = status.conditions[case.steps_run - 1]
    expected = results[order[case.steps_run - 1]]
    assert (stopped.status, stopped.reason, stopped.message) == (
        expected.status,
        expected.reason,
        expected.message,
    )
    ready = status.condition(READY)
    assert ready is not None
    assert ready.status == case.ready
    assert status.phase == case.phase
    assert status.observed_generation == 2
    assert outcome.failed_step == case.failed_step
    assert outcome.retry_after == case.retry_after
    assert list(outcome.step_seconds) == [step.metric for step in STEPS][: case.steps_run]
    if case.failed_step is not None:
        assert outcome.result == "error"
    else:
        assert outcome.result == ("ready" if case.phase == "Ready" else "progressing")


async def test_events_are_the_steps_then_the_transitions() -> None:
    ran: list[str] = []
    first = await run_steps(table(DONE, ran), context(), ProductStoreStatus(), NOW)
    assert [(e.type, e.reason) for e in first.events] == [
        ("Normal", "Upgraded"),  # from the services step
        ("Normal", "AllComponentsReady"),  # Ready became True
    ]
    # The next pass over a converged store: the step's own events only.
    again = await run_steps(
        table(DONE, ran), context(), ProductStoreStatus.model_validate(first.status), NOW
    )
    assert [e.reason for e in again.events] == ["Upgraded"]
    assert again.status == first.status


def test_every_row_has_its_own_condition_and_metric_label() -> None:
    assert len({step.condition for step in STEPS}) == len(STEPS)
    assert len({step.metric for step in STEPS}) == len(STEPS)
    assert [step.metric for step in STEPS] == ["vault", "cassandra", "services", "mesh"]
