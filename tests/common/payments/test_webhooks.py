"""Webhook signatures: the verifier's checks as a table, then real deliveries from the
sandbox to a receiver of the test's own (signed, verified, retried, given up)."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devstack.components.payments import WEBHOOK_MAX_ATTEMPTS, PaymentsSandbox
from devstack.payments_sandbox.webhooks import sign
from productstore_common.payments import (
    PaymentDeclined,
    SandboxPaymentProvider,
    WebhookSignatureError,
    idempotency_key,
    verify_webhook,
)
from tests.operator.handlers.support import free_port
from tests.support.payments import Received, registered, wait_for, webhook_receiver

SECRET = b"whsec_test"
NOW = 1_800_000_000
BODY = (
    b'{"id":"evt_1","object":"event","type":"payment.captured","created":1,'
    b'"data":{"object":{"id":"pay_1"}}}'
)


def _signed(body: bytes = BODY, at: int = NOW, secret: bytes = SECRET) -> str:
    return sign(secret, at, body)


@pytest.mark.parametrize(
    ("body", "header", "reason"),
    [
        (BODY + b" ", _signed(), "no v1 signature matches"),
        (BODY, _signed(secret=b"whsec_other"), "no v1 signature matches"),
        (BODY, None, "no Payments-Signature header"),
        (BODY, _signed().split(",")[1], "no timestamp"),
        (BODY, _signed().split(",")[0], "no v1 signature"),
        (BODY, _signed().replace(f"t={NOW}", "t=soon"), "not a number"),
        (BODY, _signed().replace(f"t={NOW}", f"t={NOW + 1}"), "no v1 signature matches"),
        (BODY, _signed() + ",garbage", "malformed"),
        (BODY, _signed(at=NOW - 301), "301 s from now"),
        (BODY, _signed(at=NOW + 301), "-301 s from now"),
        (b"[]", _signed(b"[]"), "not an event"),
        (b"x" * 300_000, _signed(b"x" * 300_000), "over"),
    ],
    ids=[
        "body-changed",
        "other-secret",
        "no-header",
        "no-timestamp",
        "no-signature",
        "bad-timestamp",
        "timestamp-changed",
        "malformed-element",
        "too-old",
        "from-the-future",
        "not-an-event",
        "oversized",
    ],
)
def test_a_bad_or_stale_signature_is_refused(body: bytes, header: str | None, reason: str) -> None:
    with pytest.raises(WebhookSignatureError, match=reason):
        verify_webhook(body, header, SECRET, now=NOW)


def test_a_good_signature_gives_the_event() -> None:
    event = verify_webhook(BODY, _signed(at=NOW - 299), SECRET, now=NOW)
    assert (event.id, event.type, event.payment["id"]) == ("evt_1", "payment.captured", "pay_1")


def test_during_a_secret_rotation_either_signature_is_accepted() -> None:
    old = _signed(secret=b"whsec_old").split(",")[1]
    header = f"{_signed()},{old}"
    assert verify_webhook(BODY, header, SECRET, now=NOW).id == "evt_1"
    assert verify_webhook(BODY, header, b"whsec_old", now=NOW).id == "evt_1"


def test_an_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        verify_webhook(BODY, _signed(secret=b""), b"", now=NOW)


# --- real deliveries ---------------------------------------------------------------


def _events(received: list[Received], secret: bytes) -> dict[str, Any]:
    """The verified events among ``received``, by type (each must verify)."""
    return {
        event.type: event
        for event in (verify_webhook(r.body, r.signature, secret) for r in received)
    }


def _deliveries(api: httpx.Client, payment_id: str, event_type: str) -> list[dict[str, Any]]:
    answer = api.get("/v1/events", params={"payment_id": payment_id, "type": event_type})
    events = answer.json()["data"]
    assert len(events) == 1, events
    deliveries: list[dict[str, Any]] = events[0]["deliveries"]
    return deliveries


@pytest.mark.anyio
async def test_every_payment_event_is_delivered_signed(
    payments_sandbox: PaymentsSandbox, provider: SandboxPaymentProvider, sandbox_api: httpx.Client
) -> None:
    order = uuid.uuid4().hex
    with webhook_receiver() as receiver, registered(sandbox_api, receiver.url):
        payment = await provider.authorise(
            amount=Decimal("20.00"),
            currency="EUR",
            token="tok_approve",
            idempotency_key=idempotency_key(order, "authorise"),
        )
        await provider.capture(payment.id, idempotency_key=idempotency_key(order, "capture"))
        await provider.refund(
            payment.id, amount=Decimal(5), idempotency_key=idempotency_key(order, "refund")
        )
        declined_order = uuid.uuid4().hex
        with pytest.raises(PaymentDeclined) as declined:
            await provider.authorise(
                amount=Decimal("1.00"),
                currency="EUR",
                token="tok_decline",
                idempotency_key=idempotency_key(declined_order, "authorise"),
            )
        assert declined.value.payment is not None
        declined_id = declined.value.payment.id

        def all_arrived() -> list[Received] | None:
            ours = receiver.bodies_with(payment.id)
            return ours if len(ours) >= 3 and receiver.bodies_with(declined_id) else None

        events = _events(wait_for("four events", all_arrived), payments_sandbox.webhook_secret())
        assert set(events) == {"payment.authorized", "payment.captured", "payment.refunded"}
        assert events["payment.refunded"].payment["amount_refunded"] == "5.00"
        failed = _events(receiver.bodies_with(declined_id), payments_sandbox.webhook_secret())
        assert failed["payment.failed"].payment["decline_code"] == "insufficient_funds"
        # Signed with the sandbox's secret: another secret fails.
        with pytest.raises(WebhookSignatureError):
            _events(receiver.bodies_with(payment.id), b"whsec_not_the_sandboxes")


@pytest.mark.anyio
async def test_a_failed_delivery_is_retried_then_given_up(
    payments_sandbox: PaymentsSandbox, provider: SandboxPaymentProvider, sandbox_api: httpx.Client
) -> None:
    secret = payments_sandbox.webhook_secret()
    with (
        webhook_receiver(statuses=[500, 503]) as flaky,
        webhook_receiver(statuses=[500] * 100) as broken,
        registered(sandbox_api, flaky.url),
        registered(sandbox_api, broken.url),
        registered(sandbox_api, f"http://127.0.0.1:{free_port()}/nobody-listens"),
    ):
        started = time.monotonic()
        payment = await provider.authorise(
            amount=Decimal(3),
            currency="EUR",
            token="tok_approve",
            idempotency_key=idempotency_key(uuid.uuid4().hex, "authorise"),
        )

        def settled() -> list[dict[str, Any]] | None:
            deliveries = _deliveries(sandbox_api, payment.id, "payment.authorized")
            return deliveries if all(d["status"] != "pending" for d in deliveries) else None

        by_url = {d["url"]: d for d in wait_for("deliveries to settle", settled)}
        elapsed = time.monotonic() - started
    # Two failures, then delivered on the third attempt; the same body each time,
    # each signature valid.
    assert (by_url[flaky.url]["status"], by_url[flaky.url]["attempts"]) == ("delivered", 3)
    attempts = flaky.bodies_with(payment.id)
    assert len(attempts) == 3
    assert len({a.body for a in attempts}) == 1
    assert len(_events(attempts, secret)) == 1
    # Always failing: bounded, then marked failed with the last answer.
    assert by_url[broken.url]["status"] == "failed"
    assert by_url[broken.url]["attempts"] == WEBHOOK_MAX_ATTEMPTS
    assert by_url[broken.url]["last_status_code"] == 500
    assert len(broken.bodies_with(payment.id)) == WEBHOOK_MAX_ATTEMPTS
    refused = next(d for u, d in by_url.items() if u.endswith("/nobody-listens"))
    assert (refused["status"], refused["attempts"]) == ("failed", WEBHOOK_MAX_ATTEMPTS)
    assert "ConnectError" in refused["last_error"]
    # With backoff: 0.25 + 0.5 + 1 s between the four attempts.
    assert elapsed >= 1.75


@pytest.mark.parametrize(
    "url",
    ["http://example.com/hook", "ftp://127.0.0.1/hook", "not a url", 42],
)
def test_webhooks_go_to_loopback_only(sandbox_api: httpx.Client, url: object) -> None:
    response = sandbox_api.post("/v1/webhook_endpoints", json={"url": url})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "url"
