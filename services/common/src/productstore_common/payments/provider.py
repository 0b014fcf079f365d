"""The payment provider interface: what orders asks of whoever moves the money.

Providers are third parties (a card processor; on devstack, the sandbox), so the
interface is theirs in shape: an authorisation holds an amount on a card, a
capture takes it (on fulfilment), a refund gives it back (on a cancel after
payment), a void drops an uncaptured hold. Every call that changes anything
carries an idempotency key the caller derives from what the call is for
(`idempotency_key`), so a retry after a crash, a redelivery or a timeout can
never charge twice.

Outcomes are typed so the caller can act on each without parsing messages:

- a `Payment` (or `Refund`): done. ``reconciled`` says the call timed out and the
  answer was found afterwards (by the key); nothing else differs.
- `PaymentDeclined`: the card said no. Final for this authorisation; the order
  becomes ``payment_failed``.
- `PaymentRefused`: the provider refused the request itself (over the
  capturable or refundable amount, the wrong state, a key reused for another
  request, bad input). A bug or a state mismatch: retrying the same request
  will not help.
- `PaymentsUnavailable`: the provider could not be reached, failed, or timed
  out and the outcome could not be found. Unknown outcome: retry later with
  the same key (it is safe: the provider runs a key once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

# What an idempotency key may hold: the sandbox's limit, and what providers accept.
MAX_KEY_LENGTH = 255
_KEY_PART = re.compile(r"[A-Za-z0-9._~-]+")
OPERATIONS = frozenset({"authorise", "capture", "refund", "void"})


def idempotency_key(order_id: str, operation: str, *qualifiers: str) -> str:
    """The key of one payment call, derived from what it is for.

    ``order:<order id>:<operation>[:<qualifier>...]``: the same order and operation
    give the same key in every retry and every replica, so a call is made once
    however often the order's state machine runs it. A second refund of one
    order needs a qualifier of its own (e.g. the cancellation's id).
    """
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {sorted(OPERATIONS)}, got {operation!r}")
    parts = [order_id, *qualifiers]
    for part in parts:
        if not _KEY_PART.fullmatch(part):
            raise ValueError(f"{part!r} cannot be part of an idempotency key ([A-Za-z0-9._~-]+)")
    key = ":".join(["order", order_id, operation, *qualifiers])
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"the idempotency key would be {len(key)} characters (at most 255)")
    return key


class PaymentStatus(StrEnum):
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"


@dataclass(frozen=True)
class Payment:
    """An authorisation and what became of it; amounts in the currency's major unit."""

    id: str
    status: PaymentStatus
    amount: Decimal
    currency: str
    amount_captured: Decimal
    amount_refunded: Decimal
    idempotency_key: str
    reference: str | None = None
    decline_code: str | None = None
    # The call timed out and this answer was found afterwards by its key.
    reconciled: bool = False
    # The provider answered from its record of an earlier call with the same key.
    replayed: bool = False


@dataclass(frozen=True)
class Refund:
    id: str
    amount: Decimal
    currency: str
    payment: Payment
    reconciled: bool = False
    replayed: bool = False


class PaymentError(Exception):
    """Any failed payment call."""


class PaymentDeclined(PaymentError):  # noqa: N818 - a declined card is an outcome, not a bug
    """The card was declined; ``decline_code`` is the provider's reason."""

    def __init__(self, decline_code: str, payment: Payment | None, message: str) -> None:
        super().__init__(message)
        self.decline_code = decline_code
        self.payment = payment


class PaymentRefused(PaymentError):  # noqa: N818 - the provider's own word for it
    """The provider refused the request (limits, state, input): retrying will not help.

    ``code`` is the provider's machine-readable reason, ``problem`` its whole answer.
    """

    def __init__(self, status: int, code: str, detail: str, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.problem = problem


class IdempotencyKeyReused(PaymentRefused):
    """The key was used before for another request: a bug in how keys are derived."""


class PaymentNotFound(PaymentRefused):
    """No payment with that id (or no authorisation under that key)."""


class PaymentsUnavailable(PaymentError):  # noqa: N818 - named for the 503 it becomes
    """The provider is unreachable, failing, or timed out with no outcome to be found.

    The outcome is unknown: retry after ``retry_after`` seconds with the same
    idempotency key. A request handler lets it become a 503 with Retry-After
    (the common dependency-outage mapping; see the package's README section).
    """

    def __init__(self, reason: str, *, retry_after: float = 5.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PaymentProvider(Protocol):
    """What orders needs of a payment provider; every mutating call takes a key."""

    async def authorise(
        self,
        *,
        amount: Decimal,
        currency: str,
        token: str,
        idempotency_key: str,
        reference: str | None = None,
    ) -> Payment: ...

    async def capture(
        self, payment_id: str, *, idempotency_key: str, amount: Decimal | None = None
    ) -> Payment: ...

    async def refund(
        self, payment_id: str, *, idempotency_key: str, amount: Decimal | None = None
    ) -> Refund: ...

    async def void(self, payment_id: str, *, idempotency_key: str) -> Payment: ...

    async def get(self, payment_id: str) -> Payment: ...
