"""What a reconcile step and a whole pass report back: plain data, no kopf.

The handlers turn an Outcome into kopf's terms (a status patch, events, a
TemporaryError to come back later, a PermanentError for an invalid spec).
"""

from __future__ import annotations

from collections.abc import Iterable
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
    """What every step returns: its condition's status, and whether the pass goes on.

    The step's row in the table (``steps.STEPS``) names the condition; the
    result says how it stands. Build one with ``ready``, ``waiting`` or ``failed``.
    """

    status: Status
    reason: str
    message: str
    # False: the step has not converged yet; later steps wait for it.
    done: bool
    retry_after: float | None = None
    events: tuple[Event, ...] = ()

    @classmethod
    def ready(cls, reason: str, message: str, events: Iterable[Event] = ()) -> StepResult:
        """Converged: the condition is True and the next step runs."""
        return cls("True", reason, message, done=True, events=tuple(events))

    @classmethod
    def waiting(
        cls,
        reason: str,
        message: str,
        events: Iterable[Event] = (),
        *,
        status: Status = "False",
        after: float = POLL_SECONDS,
    ) -> StepResult:
        """Not converged yet (a rollout, a cluster provisioning): look again soon."""
        return cls(status, reason, message, done=False, retry_after=after, events=tuple(events))

    @classmethod
    def failed(
        cls,
        reason: str,
        message: str,
        events: Iterable[Event] = (),
        *,
        after: float = RETRY_SECONDS,
    ) -> StepResult:
        """Something outside the spec failed (a server down, a refusal): retry later."""
        return cls("False", reason, message, done=False, retry_after=after, events=tuple(events))


@dataclass
class Outcome:
    """A whole pass: the status to write, events to post, when to come back."""

    status: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    # Seconds until the next pass; None: the timer's next tick is soon enough.
    retry_after: float | None = None
    # The spec cannot be built; the message says what to change.
    invalid: str | None = None
    # Which step failed (its metric label, for the errors metric), if one did.
    failed_step: str | None = None
    # Seconds each step that ran took, by metric label, in order.
    step_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def result(self) -> str:
        """ready, progressing, invalid or error: the reconciles_total label."""
        if self.invalid is not None:
            return "invalid"
        if self.failed_step is not None:
            return "error"
        return "ready" if self.status.get("phase") == "Ready" else "progressing"
