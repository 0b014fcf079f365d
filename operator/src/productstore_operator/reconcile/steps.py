"""The reconcile as a table: one row per step, run in order by ``store.run_steps``.

A row names the condition its step sets, the reasons that mean "not converged
yet" rather than a failure (they count no error), the label of the errors
metric, and the step itself: ``async (PassContext) -> StepResult``. A new step
(Kafka topics, monitoring) is a function and one row here; Ready summarises
the rows' conditions in this order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from productstore_operator.models.status import (
    CASSANDRA_READY,
    MESH_CONFIGURED,
    SECRETS_READY,
    SERVICES_READY,
)
from productstore_operator.reconcile.cassandra_step import PROVISIONING, ensure_cassandra
from productstore_operator.reconcile.context import PassContext
from productstore_operator.reconcile.mesh_step import NOT_DEPLOYED, check_mesh
from productstore_operator.reconcile.outcome import StepResult
from productstore_operator.reconcile.release_step import (
    RELEASE_PENDING,
    ROLLING_OUT,
    ensure_release,
)
from productstore_operator.reconcile.vault_step import ensure_secrets

StepFunction = Callable[[PassContext], Awaitable[StepResult]]


@dataclass(frozen=True)
class Step:
    """One row of the reconcile."""

    condition: str
    # Reasons of a False/Unknown result that only mean "not yet": no error counted.
    waiting: frozenset[str]
    # reconcile_errors_total{step} when the step fails for another reason.
    metric: str
    run: StepFunction

    def counts_as_error(self, result: StepResult) -> bool:
        """Whether ``result`` is a failure (counted), not convergence in progress."""
        return result.status == "False" and result.reason not in self.waiting


STEPS: Final = (
    Step(SECRETS_READY, frozenset(), "vault", ensure_secrets),
    Step(CASSANDRA_READY, frozenset({PROVISIONING}), "cassandra", ensure_cassandra),
    Step(SERVICES_READY, frozenset({ROLLING_OUT, RELEASE_PENDING}), "services", ensure_release),
    Step(MESH_CONFIGURED, frozenset({NOT_DEPLOYED}), "mesh", check_mesh),
)
# The conditions Ready summarises, in reconcile order.
COMPONENT_TYPES: Final = tuple(step.condition for step in STEPS)
