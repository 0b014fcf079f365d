"""Verifying the payment provider's signed webhooks.

The provider POSTs each event with ``Payments-Signature: t=<unix seconds>,v1=<hex>``
where the hex is HMAC-SHA256, under the shared webhook secret, of
``"<t>." + the raw body``. `verify_webhook` checks it before anything reads the
body:

- over the raw bytes as received (parse and re-serialise, and the MAC no longer
  matches);
- compared in constant time (`hmac.compare_digest`), against every ``v1`` in the
  header (a provider sends two while it rotates secrets);
- with the timestamp within ``tolerance`` seconds of now, either way: a captured
  request replayed later fails here.

Replay protection beyond the tolerance window is the receiver's: within the
window the same signed request can be sent again, and the provider itself
retries a delivery it thinks failed. So record each event's ``id`` (for at least
the tolerance) and treat a seen id as done, and make the handler idempotent
anyway (the state an event reports is the state to converge to, not a delta).
Events may also arrive out of order: act on the payment's state, re-read with
``PaymentProvider.get`` when in doubt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "Payments-Signature"
DEFAULT_TOLERANCE_SECONDS = 300.0
# A webhook is one small JSON object; refuse to MAC megabytes from anyone.
MAX_PAYLOAD_BYTES = 256 * 1024


class WebhookSignatureError(Exception):
    """The request is not a genuine, fresh webhook; answer it with 400 and drop it."""


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    created: int
    # The payment as the provider saw it when the event happened.
    payment: dict[str, Any]


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise WebhookSignatureError(f"malformed {SIGNATURE_HEADER} element {item!r}")
        if name == "t":
            if not value.isdigit():
                raise WebhookSignatureError(f"the timestamp {value!r} is not a number")
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None:
        raise WebhookSignatureError(f"{SIGNATURE_HEADER} has no timestamp (t=)")
    if not signatures:
        raise WebhookSignatureError(f"{SIGNATURE_HEADER} has no v1 signature")
    return timestamp, signatures


def verify_webhook(
    payload: bytes,
    header: str | None,
    secret: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> WebhookEvent:
    """The event in ``payload`` if ``header`` signs it with ``secret`` and is fresh.

    Raises WebhookSignatureError saying which check failed (log it; answer the
    sender a plain 400 without the reason).
    """
    if not secret:
        raise ValueError("an empty webhook secret would accept anyone's signature")
    if header is None:
        raise WebhookSignatureError(f"no {SIGNATURE_HEADER} header")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise WebhookSignatureError(f"the payload is over {MAX_PAYLOAD_BYTES} bytes")
    timestamp, signatures = _parse_header(header)
    expected = hmac.new(secret, f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    # Every candidate is compared, so the time taken says nothing about which matched.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    if not matched:
        raise WebhookSignatureError("no v1 signature matches the payload")
    age = (time.time() if now is None else now) - timestamp
    if abs(age) > tolerance:
        raise WebhookSignatureError(
            f"the signature's timestamp is {age:.0f} s from now (tolerance {tolerance:.0f} s)"
        )
    try:
        event = json.loads(payload)
        return WebhookEvent(
            id=str(event["id"]),
            type=str(event["type"]),
            created=int(event["created"]),
            payment=dict(event["data"]["object"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookSignatureError(f"a signed payload that is not an event: {exc!r}") from None
