"""The reconcile as a table of steps: builders' desired state applied through the I/O layer.

No kopf here (import-linter contract ``operator-kopf-in-handlers``): a pass
returns an Outcome, and the handlers translate it into kopf's terms.
"""

from productstore_operator.io import TransientError
from productstore_operator.reconcile.outcome import Event, Outcome, StepResult
from productstore_operator.reconcile.plan import Plan, make_plan
from productstore_operator.reconcile.runtime import Runtime
from productstore_operator.reconcile.steps import STEPS, Step
from productstore_operator.reconcile.store import finalize, reconcile

__all__ = [
    "STEPS",
    "Event",
    "Outcome",
    "Plan",
    "Runtime",
    "Step",
    "StepResult",
    "TransientError",
    "finalize",
    "make_plan",
    "reconcile",
]
