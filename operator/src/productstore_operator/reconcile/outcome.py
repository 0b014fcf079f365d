"""What a reconcile step and a whole pass report back: plain data, no kopf.

The handlers turn an Outcome into kopf's terms (a status patch, events, a
TemporaryError to come back later, a PermanentError for an invalid spec).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from productstore_operator.conditions import Status

EventType = Literal["Normal", "Warning"]

# How soon a step that waits for something (a rollout, Vault) looks again.
POLL_SECONDS = 10.0
# How soon after a failure outside the spec (a server down, a refusal).
RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event about the ProductStore."""

    type: EventType
    reason: str
    message: str


@dataclass(frozen=True)
class StepResult:
    """One step's condition, and whether the reconcile may go on to the next step."""

    condition: str
    status: Status
    reason: str
    message: str
    # False: the step has not converged yet; later steps wait for it.
    done: bool
    retry_after: float | None = None
    events: tuple[Event, ...] = ()


@dataclass
class Outcome:
    """A whole pass: the status to write, events to post, when to come back."""

    status: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    # Seconds until the next pass; None: the timer's next tick is soon enough.
    retry_after: float | None = None
    # The spec cannot be built; the message says what to change.
    invalid: str | None = None
    # Which step failed (for the errors metric), if one did.
    failed_step: str | None = None

    @property
    def result(self) -> str:
        """ready, progressing, invalid or error: the reconciles_total label."""
        if self.invalid is not None:
            return "invalid"
        if self.failed_step is not None:
            return "error"
        return "ready" if self.status.get("phase") == "Ready" else "progressing"
