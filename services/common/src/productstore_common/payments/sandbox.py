"""The payment provider over HTTP: devstack's sandbox (and its API's shape).

Timeouts are per call (``timeout``; connecting gets ``connect_timeout``). A call
that timed out may still have happened at the provider, so it is never simply
retried blind:

- an authorisation that timed out is reconciled by reading the authorisation
  its idempotency key created (``GET /v1/payments?idempotency_key=``): found, it
  is the answer (``reconciled=True``; a declined one raises PaymentDeclined);
  not found, the outcome is unknown and PaymentsUnavailable says to retry with
  the same key later.
- a capture, refund or void that timed out is sent once more with the same key:
  the provider replays the stored answer (or runs it, if the first never
  arrived); a second timeout is PaymentsUnavailable.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any, Self

import httpx

from productstore_common.payments.provider import (
    IdempotencyKeyReused,
    Payment,
    PaymentDeclined,
    PaymentNotFound,
    PaymentRefused,
    PaymentStatus,
    PaymentsUnavailable,
    Refund,
)

_logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 2.0
# When the provider says nothing (no Retry-After): how long before a retry is worth it.
DEFAULT_RETRY_AFTER_SECONDS = 5.0


class _TimedOutError(Exception):
    """The request was sent and no answer came in time: the outcome is unknown."""


def _decimal(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise PaymentsUnavailable(
            f"the provider answered a non-decimal {field}: {value!r}"
        ) from None


def _payment(body: Any, *, reconciled: bool = False, replayed: bool = False) -> Payment:
    try:
        return Payment(
            id=str(body["id"]),
            status=PaymentStatus(body["status"]),
            amount=_decimal(body["amount"], "amount"),
            currency=str(body["currency"]),
            amount_captured=_decimal(body["amount_captured"], "amount_captured"),
            amount_refunded=_decimal(body["amount_refunded"], "amount_refunded"),
            idempotency_key=str(body["idempotency_key"]),
            reference=body.get("reference"),
            decline_code=body.get("decline_code"),
            reconciled=reconciled,
            replayed=replayed,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PaymentsUnavailable(f"the provider answered an unreadable payment: {exc!r}") from None


def _retry_after(response: httpx.Response) -> float:
    raw = response.headers.get("Retry-After", "")
    return float(raw) if raw.isdigit() else DEFAULT_RETRY_AFTER_SECONDS


class SandboxPaymentProvider:
    """`PaymentProvider` over the sandbox's HTTP API (httpx, one connection pool)."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- the interface -----------------------------------------------------------
    async def authorise(
        self,
        *,
        amount: Decimal,
        currency: str,
        token: str,
        idempotency_key: str,
        reference: str | None = None,
    ) -> Payment:
        body: dict[str, Any] = {"amount": str(amount), "currency": currency, "token": token}
        if reference is not None:
            body["reference"] = reference
        try:
            response = await self._send("POST", "/v1/payments", body, idempotency_key)
        except _TimedOutError:
            return await self._reconcile_authorisation(idempotency_key)
        answer = self._json(response)
        return _payment(answer, replayed=self._replayed(response))

    async def capture(
        self, payment_id: str, *, idempotency_key: str, amount: Decimal | None = None
    ) -> Payment:
        body = {} if amount is None else {"amount": str(amount)}
        response, reconciled = await self._send_twice(
            f"/v1/payments/{payment_id}/capture", body, idempotency_key
        )
        return _payment(
            self._json(response), reconciled=reconciled, replayed=self._replayed(response)
        )

    async def refund(
        self, payment_id: str, *, idempotency_key: str, amount: Decimal | None = None
    ) -> Refund:
        body = {} if amount is None else {"amount": str(amount)}
        response, reconciled = await self._send_twice(
            f"/v1/payments/{payment_id}/refunds", body, idempotency_key
        )
        answer = self._json(response)
        try:
            return Refund(
                id=str(answer["id"]),
                amount=_decimal(answer["amount"], "amount"),
                currency=str(answer["currency"]),
                payment=_payment(answer["payment"]),
                reconciled=reconciled,
                replayed=self._replayed(response),
            )
        except (KeyError, TypeError) as exc:
            raise PaymentsUnavailable(
                f"the provider answered an unreadable refund: {exc!r}"
            ) from None

    async def void(self, payment_id: str, *, idempotency_key: str) -> Payment:
        response, reconciled = await self._send_twice(
            f"/v1/payments/{payment_id}/void", {}, idempotency_key
        )
        return _payment(
            self._json(response), reconciled=reconciled, replayed=self._replayed(response)
        )

    async def get(self, payment_id: str) -> Payment:
        try:
            response = await self._send("GET", f"/v1/payments/{payment_id}", None, None)
        except _TimedOutError:
            raise PaymentsUnavailable(f"reading payment {payment_id} timed out") from None
        return _payment(self._json(response))

    async def find_by_idempotency_key(self, key: str) -> Payment | None:
        """The authorisation ``key`` created, or None if the provider has none."""
        try:
            response = await self._send(
                "GET", "/v1/payments", None, None, params={"idempotency_key": key}
            )
        except _TimedOutError:
            raise PaymentsUnavailable("looking up an authorisation by its key timed out") from None
        found = self._json(response).get("data")
        if not isinstance(found, list) or len(found) > 1:
            raise PaymentsUnavailable(f"the provider answered an unreadable list for key {key!r}")
        return _payment(found[0], reconciled=True) if found else None

    # --- plumbing ----------------------------------------------------------------
    async def _reconcile_authorisation(self, key: str) -> Payment:
        _logger.warning("authorisation %s timed out; reconciling by its key", key)
        payment = await self.find_by_idempotency_key(key)
        if payment is None:
            raise PaymentsUnavailable(
                f"the authorisation under key {key!r} timed out and the provider has no record "
                "of it (yet): retry with the same key"
            )
        if payment.status is PaymentStatus.DECLINED:
            raise PaymentDeclined(
                payment.decline_code or "declined", payment, "the card was declined (reconciled)"
            )
        return payment

    async def _send_twice(
        self, path: str, body: dict[str, Any], key: str
    ) -> tuple[httpx.Response, bool]:
        """POST; on a timeout once more with the same key (the provider runs a key once)."""
        try:
            return await self._send("POST", path, body, key), False
        except _TimedOutError:
            _logger.warning("POST %s (key %s) timed out; sending it again with the key", path, key)
        try:
            return await self._send("POST", path, body, key), True
        except _TimedOutError:
            raise PaymentsUnavailable(
                f"POST {path} timed out twice; retry with the same key"
            ) from None

    async def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        key: str | None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key is not None else {}
        try:
            response = await self._client.request(
                method, path, json=body, headers=headers, params=params
            )
        except httpx.ConnectTimeout as exc:
            # Never connected: nothing was sent, so nothing can have happened.
            raise PaymentsUnavailable(f"cannot connect to the payment provider: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            raise _TimedOutError(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise PaymentsUnavailable(f"cannot reach the payment provider: {exc!r}") from exc
        if response.is_success:
            return response
        raise self._error(response)

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise PaymentsUnavailable(
                f"the payment provider answered {response.status_code} without a JSON object"
            )
        return answer

    @staticmethod
    def _replayed(response: httpx.Response) -> bool:
        return bool(response.headers.get("Idempotent-Replayed") == "true")

    def _error(self, response: httpx.Response) -> Exception:
        status = response.status_code
        if status == 429 or status >= 500:
            return PaymentsUnavailable(
                f"the payment provider answered {status}", retry_after=_retry_after(response)
            )
        if status in (401, 403):
            # Our credentials are wrong: an outage of payments until someone fixes them.
            _logger.error("the payment provider refused our API key (%d)", status)
            return PaymentsUnavailable(f"the payment provider refused our credentials ({status})")
        problem = self._json(response)
        code = str(problem.get("code", "unknown"))
        detail = str(problem.get("detail", ""))
        if status == 402:
            payment = _payment(problem["payment"]) if "payment" in problem else None
            return PaymentDeclined(str(problem.get("decline_code", code)), payment, detail)
        if status == 404:
            return PaymentNotFound(status, code, detail, problem)
        if code == "idempotency_key_reused":
            return IdempotencyKeyReused(status, code, detail, problem)
        return PaymentRefused(status, code, detail, problem)
