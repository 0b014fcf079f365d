"""status.conditions: set one condition, summarise them into Ready and a phase.

Pure functions over the models' Condition; the caller passes the time in, so
the result depends on nothing but the arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal

from productstore_operator.models import Condition
from productstore_operator.models.status import READY, SERVICES_READY, Phase

Status = Literal["True", "False", "Unknown"]

# Reason of a False condition that only a spec change can fix: the phase is Failed.
INVALID_SPEC: Final = "InvalidSpec"
# Ready False because of where the store is, not what it says: a control-plane
# namespace (never) and a namespace the operator was not granted (until it is).
NAMESPACE_NOT_ALLOWED: Final = "NamespaceNotAllowed"
NAMESPACE_NOT_GRANTED: Final = "NamespaceNotGranted"
ALL_READY: Final = "AllComponentsReady"
NOT_OBSERVED: Final = "NotObserved"


def set_condition(
    conditions: Sequence[Condition],
    condition_type: str,
    status: Status,
    *,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    """``conditions`` with the one of ``condition_type`` replaced (or added at the end).

    lastTransitionTime moves only when the status changes, so it tells when
    the store last became (un)ready, not when the operator last looked.
    """
    previous = next((c for c in conditions if c.type == condition_type), None)
    changed_at = (
        previous.last_transition_time if previous is not None and previous.status == status else now
    )
    condition = Condition(
        type=condition_type,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=changed_at,
        observed_generation=generation,
    )
    if previous is None:
        return [*conditions, condition]
    return [condition if c.type == condition_type else c for c in conditions]


def summarise(
    conditions: Sequence[Condition],
    components: Sequence[str],
    generation: int | None,
    now: datetime,
) -> tuple[Phase, list[Condition]]:
    """The phase and ``conditions`` with Ready set from the component conditions.

    ``components`` are the condition types of the reconcile's steps, in their
    order (``reconcile.steps.COMPONENT_TYPES``); a step that does not apply
    (external Cassandra, Istio disabled) sets its condition True with a reason
    saying so. Ready is True when every component is True, False when one is
    False, and Unknown while one has not been observed yet. Its reason and
    message are those of the first component, in reconcile order, that holds
    it back.
    """
    by_type = {c.type: c for c in conditions}
    found = [(t, by_type.get(t)) for t in components]
    blocking = [(t, c) for t, c in found if c is None or c.status != "True"]
    if not blocking:
        ready = set_condition(
            conditions,
            READY,
            "True",
            reason=ALL_READY,
            message="Every component is ready.",
            generation=generation,
            now=now,
        )
        return "Ready", ready
    failed = [(t, c) for t, c in blocking if c is not None and c.status == "False"]
    _, first = (failed or blocking)[0]
    status: Status = "False" if failed else "Unknown"
    reason = first.reason if first is not None else NOT_OBSERVED
    message = "; ".join(
        f"{t}: {c.message if c is not None else 'not observed yet'}"
        for t, c in (failed or blocking)
    )
    ready = set_condition(
        conditions, READY, status, reason=reason, message=message, generation=generation, now=now
    )
    return _phase(by_type, components, failed), ready


def _phase(
    by_type: dict[str, Condition],
    components: Sequence[str],
    failed: Sequence[tuple[str, Condition]],
) -> Phase:
    if any(c.reason == INVALID_SPEC for _, c in failed):
        return "Failed"
    if not any(t in by_type for t in components):
        return "Pending"
    services = by_type.get(SERVICES_READY)
    # The services run but something around them fails: usable, not healthy.
    if failed and services is not None and services.status == "True":
        return "Degraded"
    return "Reconciling"
