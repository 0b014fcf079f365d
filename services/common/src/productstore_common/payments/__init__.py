"""Payments through a provider interface (see provider.py), its HTTP client for the
sandbox's API (sandbox.py) and the webhook signature check (webhooks.py)."""

from productstore_common.payments.provider import (
    IdempotencyKeyReused,
    Payment,
    PaymentDeclined,
    PaymentError,
    PaymentNotFound,
    PaymentProvider,
    PaymentRefused,
    PaymentStatus,
    PaymentsUnavailable,
    Refund,
    idempotency_key,
)
from productstore_common.payments.sandbox import SandboxPaymentProvider
from productstore_common.payments.webhooks import (
    SIGNATURE_HEADER,
    WebhookEvent,
    WebhookSignatureError,
    verify_webhook,
)

__all__ = [
    "SIGNATURE_HEADER",
    "IdempotencyKeyReused",
    "Payment",
    "PaymentDeclined",
    "PaymentError",
    "PaymentNotFound",
    "PaymentProvider",
    "PaymentRefused",
    "PaymentStatus",
    "PaymentsUnavailable",
    "Refund",
    "SandboxPaymentProvider",
    "WebhookEvent",
    "WebhookSignatureError",
    "idempotency_key",
    "verify_webhook",
]
