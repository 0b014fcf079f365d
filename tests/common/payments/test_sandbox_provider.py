"""The payments client against devstack's real sandbox: every test token, idempotency,
capture and refund limits, and reconciling a call that timed out."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal

import pytest

from devstack.components.payments import SLOW_SECONDS, PaymentsSandbox
from productstore_common.payments import (
    IdempotencyKeyReused,
    Payment,
    PaymentDeclined,
    PaymentNotFound,
    PaymentRefused,
    PaymentStatus,
    PaymentsUnavailable,
    Refund,
    SandboxPaymentProvider,
    idempotency_key,
)
from tests.operator.handlers.support import free_port
from tests.support.payments import answer_losing_proxy, silent_server

pytestmark = pytest.mark.anyio

EUR = "EUR"


def _order() -> str:
    return uuid.uuid4().hex


async def _authorised(
    provider: SandboxPaymentProvider,
    amount: str = "10.00",
    token: str = "tok_approve",  # noqa: S107 - a test card token
) -> tuple[str, str]:
    order = _order()
    payment = await provider.authorise(
        amount=Decimal(amount),
        currency=EUR,
        token=token,
        idempotency_key=idempotency_key(order, "authorise"),
        reference=order,
    )
    return order, payment.id


async def test_tok_approve_authorises(provider: SandboxPaymentProvider) -> None:
    order = _order()
    key = idempotency_key(order, "authorise")
    payment = await provider.authorise(
        amount=Decimal("12.34"),
        currency=EUR,
        token="tok_approve",
        idempotency_key=key,
        reference=order,
    )
    assert payment.status is PaymentStatus.AUTHORIZED
    assert (payment.amount, payment.currency, payment.reference) == (Decimal("12.34"), EUR, order)
    assert (payment.amount_captured, payment.reconciled, payment.replayed) == (
        Decimal(0),
        False,
        False,
    )
    assert await provider.get(payment.id) == payment


async def test_tok_decline_is_declined_with_a_reason_and_stays_declined(
    provider: SandboxPaymentProvider,
) -> None:
    key = idempotency_key(_order(), "authorise")
    with pytest.raises(PaymentDeclined) as first:
        await provider.authorise(
            amount=Decimal("5.00"), currency=EUR, token="tok_decline", idempotency_key=key
        )
    assert first.value.decline_code == "insufficient_funds"
    assert first.value.payment is not None
    assert first.value.payment.status is PaymentStatus.DECLINED
    # A retry with the key is answered from the record: the same declined payment.
    with pytest.raises(PaymentDeclined) as again:
        await provider.authorise(
            amount=Decimal("5.00"), currency=EUR, token="tok_decline", idempotency_key=key
        )
    assert again.value.payment is not None
    assert again.value.payment.id == first.value.payment.id


async def test_tok_slow_answers_late_but_within_the_timeout(
    provider: SandboxPaymentProvider,
) -> None:
    started = time.monotonic()
    _, payment_id = await _authorised(provider, token="tok_slow")
    elapsed = time.monotonic() - started
    assert elapsed >= SLOW_SECONDS
    assert (await provider.get(payment_id)).status is PaymentStatus.AUTHORIZED


async def test_tok_timeout_is_reconciled_by_its_key(payments_sandbox: PaymentsSandbox) -> None:
    key = idempotency_key(_order(), "authorise")
    started = time.monotonic()
    async with SandboxPaymentProvider(
        payments_sandbox.url, api_key=payments_sandbox.api_key(), timeout=1.0
    ) as impatient:
        payment = await impatient.authorise(
            amount=Decimal("7.50"), currency=EUR, token="tok_timeout", idempotency_key=key
        )
        # The sandbox holds its answer 30 s; the client gave up after 1 s and found
        # the authorisation by its key.
        assert time.monotonic() - started < 10
        assert payment.reconciled
        assert payment.status is PaymentStatus.AUTHORIZED
        assert payment.idempotency_key == key
        # A retry with the key gets the same authorisation, answered at once.
        again = await impatient.authorise(
            amount=Decimal("7.50"), currency=EUR, token="tok_timeout", idempotency_key=key
        )
        assert (again.id, again.replayed, again.reconciled) == (payment.id, True, False)


@pytest.mark.parametrize("operation", ["capture", "refund", "void"])
async def test_a_step_whose_answer_was_lost_is_resent_with_its_key_and_runs_once(
    payments_sandbox: PaymentsSandbox, provider: SandboxPaymentProvider, operation: str
) -> None:
    """The provider ran the step, its answer never came: the resend is replayed."""
    order, payment_id = await _authorised(provider, "8.00")
    if operation == "refund":
        await provider.capture(payment_id, idempotency_key=idempotency_key(order, "capture"))
    key = idempotency_key(order, operation)
    with answer_losing_proxy(payments_sandbox.url) as lossy_url:
        async with SandboxPaymentProvider(
            lossy_url, api_key=payments_sandbox.api_key(), timeout=1.0
        ) as lossy:
            if operation == "capture":
                answer: Payment | Refund = await lossy.capture(payment_id, idempotency_key=key)
            elif operation == "refund":
                answer = await lossy.refund(payment_id, idempotency_key=key)
            else:
                answer = await lossy.void(payment_id, idempotency_key=key)
    # Sent twice, and the second answer was the provider's record of the first.
    assert (answer.reconciled, answer.replayed) == (True, True)
    result = answer.payment if isinstance(answer, Refund) else answer
    expected = {
        "capture": PaymentStatus.CAPTURED,
        "refund": PaymentStatus.REFUNDED,
        "void": PaymentStatus.VOIDED,
    }[operation]
    assert result.status is expected
    now = await provider.get(payment_id)
    assert now.status is expected
    # Once: one capture of the whole amount, one refund of it.
    assert (now.amount_captured, now.amount_refunded) == {
        "capture": (Decimal("8.00"), Decimal(0)),
        "refund": (Decimal("8.00"), Decimal("8.00")),
        "void": (Decimal(0), Decimal(0)),
    }[operation]


async def test_a_provider_that_hangs_is_unavailable_not_a_guess() -> None:
    """The POST and the reconciling read both time out: the outcome is unknown."""
    with silent_server() as url:
        async with SandboxPaymentProvider(url, api_key="sk_test_x", timeout=0.5) as hanging:
            with pytest.raises(PaymentsUnavailable, match="timed out"):
                await hanging.authorise(
                    amount=Decimal(1),
                    currency=EUR,
                    token="tok_approve",
                    idempotency_key=idempotency_key(_order(), "authorise"),
                )
            with pytest.raises(PaymentsUnavailable, match="timed out twice"):
                await hanging.capture("pay_x", idempotency_key=idempotency_key(_order(), "capture"))


async def test_a_provider_that_is_down_is_unavailable() -> None:
    # A port nothing listens on: connection refused.
    async with SandboxPaymentProvider(
        f"http://127.0.0.1:{free_port()}", api_key="sk_test_x"
    ) as down:
        with pytest.raises(PaymentsUnavailable, match="cannot"):
            await down.get("pay_x")


async def test_a_wrong_api_key_is_an_outage_not_a_decline(
    payments_sandbox: PaymentsSandbox,
) -> None:
    async with SandboxPaymentProvider(payments_sandbox.url, api_key="sk_test_wrong") as wrong:
        with pytest.raises(PaymentsUnavailable, match="credentials"):
            await wrong.get("pay_x")


async def test_concurrent_requests_with_one_key_make_one_authorisation(
    provider: SandboxPaymentProvider,
) -> None:
    key = idempotency_key(_order(), "authorise")
    payments = await asyncio.gather(
        *(
            provider.authorise(
                amount=Decimal("3.00"), currency=EUR, token="tok_approve", idempotency_key=key
            )
            for _ in range(16)
        )
    )
    assert len({p.id for p in payments}) == 1
    assert sorted(p.replayed for p in payments) == [False] + [True] * 15
    found = await provider.find_by_idempotency_key(key)
    assert found is not None
    assert found.id == payments[0].id


async def test_a_key_reused_for_another_request_is_refused(
    provider: SandboxPaymentProvider,
) -> None:
    order, payment_id = await _authorised(provider)
    key = idempotency_key(order, "authorise")
    with pytest.raises(IdempotencyKeyReused) as other_amount:
        await provider.authorise(
            amount=Decimal("10.01"), currency=EUR, token="tok_approve", idempotency_key=key
        )
    assert other_amount.value.status == 409
    # The authorisation's key on a capture is another request too.
    with pytest.raises(IdempotencyKeyReused):
        await provider.capture(payment_id, idempotency_key=key)
    assert (await provider.get(payment_id)).status is PaymentStatus.AUTHORIZED


async def test_capture_refund_lifecycle_and_limits(provider: SandboxPaymentProvider) -> None:
    order, payment_id = await _authorised(provider, "10.00")
    with pytest.raises(PaymentRefused) as refund_first:
        await provider.refund(payment_id, idempotency_key=idempotency_key(order, "refund", "early"))
    assert (refund_first.value.status, refund_first.value.code) == (409, "invalid_state")
    assert "void" in refund_first.value.detail

    with pytest.raises(PaymentRefused) as over:
        await provider.capture(
            payment_id,
            amount=Decimal("10.01"),
            idempotency_key=idempotency_key(order, "capture", "over"),
        )
    assert (over.value.status, over.value.code) == (422, "amount_exceeds_capturable")
    assert over.value.problem["capturable"] == "10.00"

    capture_key = idempotency_key(order, "capture")
    captured = await provider.capture(
        payment_id, amount=Decimal("6.00"), idempotency_key=capture_key
    )
    assert (captured.status, captured.amount_captured) == (PaymentStatus.CAPTURED, Decimal("6.00"))
    replay = await provider.capture(payment_id, amount=Decimal("6.00"), idempotency_key=capture_key)
    assert replay.replayed
    assert replay.amount_captured == Decimal("6.00")
    with pytest.raises(PaymentRefused) as twice:
        await provider.capture(payment_id, idempotency_key=idempotency_key(order, "capture", "2"))
    assert (twice.value.status, twice.value.code) == (409, "invalid_state")
    with pytest.raises(PaymentRefused) as void_captured:
        await provider.void(payment_id, idempotency_key=idempotency_key(order, "void"))
    assert "refund" in void_captured.value.detail

    part = await provider.refund(
        payment_id, amount=Decimal("4.00"), idempotency_key=idempotency_key(order, "refund", "1")
    )
    assert part.amount == Decimal("4.00")
    assert part.payment.status is PaymentStatus.PARTIALLY_REFUNDED
    with pytest.raises(PaymentRefused) as too_much:
        await provider.refund(
            payment_id,
            amount=Decimal("3.00"),
            idempotency_key=idempotency_key(order, "refund", "2"),
        )
    assert (too_much.value.status, too_much.value.code) == (422, "amount_exceeds_refundable")
    assert too_much.value.problem["refundable"] == "2.00"
    rest = await provider.refund(payment_id, idempotency_key=idempotency_key(order, "refund", "3"))
    assert rest.amount == Decimal("2.00")
    assert rest.payment.status is PaymentStatus.REFUNDED
    assert rest.payment.amount_refunded == Decimal("6.00")
    with pytest.raises(PaymentRefused) as after_full:
        await provider.refund(payment_id, idempotency_key=idempotency_key(order, "refund", "4"))
    assert after_full.value.status == 409


async def test_void_releases_an_uncaptured_authorisation(provider: SandboxPaymentProvider) -> None:
    order, payment_id = await _authorised(provider)
    voided = await provider.void(payment_id, idempotency_key=idempotency_key(order, "void"))
    assert voided.status is PaymentStatus.VOIDED
    assert (
        await provider.void(payment_id, idempotency_key=idempotency_key(order, "void"))
    ).replayed
    with pytest.raises(PaymentRefused) as capture:
        await provider.capture(payment_id, idempotency_key=idempotency_key(order, "capture"))
    assert capture.value.code == "invalid_state"


async def test_a_declined_payment_cannot_be_captured(provider: SandboxPaymentProvider) -> None:
    order = _order()
    with pytest.raises(PaymentDeclined) as declined:
        await provider.authorise(
            amount=Decimal(1),
            currency=EUR,
            token="tok_decline",
            idempotency_key=idempotency_key(order, "authorise"),
        )
    assert declined.value.payment is not None
    with pytest.raises(PaymentRefused, match="declined"):
        await provider.capture(
            declined.value.payment.id, idempotency_key=idempotency_key(order, "capture")
        )


async def test_unknown_payment_is_not_found(provider: SandboxPaymentProvider) -> None:
    with pytest.raises(PaymentNotFound):
        await provider.get("pay_doesnotexist")
    with pytest.raises(PaymentNotFound):
        await provider.capture(
            "pay_doesnotexist", idempotency_key=idempotency_key(_order(), "capture")
        )
    assert await provider.find_by_idempotency_key("order:nothing:authorise") is None


@pytest.mark.parametrize(
    ("order_id", "operation", "qualifiers", "expected"),
    [
        ("o-1", "authorise", (), "order:o-1:authorise"),
        ("o-1", "refund", ("c1",), "order:o-1:refund:c1"),
        ("o-1", "pay", (), ValueError),
        ("o:1", "capture", (), ValueError),
        ("", "capture", (), ValueError),
        ("o" * 300, "capture", (), ValueError),
    ],
)
def test_idempotency_keys_are_derived_from_the_order_and_operation(
    order_id: str, operation: str, qualifiers: tuple[str, ...], expected: object
) -> None:
    if expected is ValueError:
        with pytest.raises(ValueError):
            idempotency_key(order_id, operation, *qualifiers)
    else:
        assert idempotency_key(order_id, operation, *qualifiers) == expected
