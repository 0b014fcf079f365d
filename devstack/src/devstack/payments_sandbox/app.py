"""The sandbox's HTTP API (``uvicorn devstack.payments_sandbox.app:create_app --factory``).

Modelled on card providers' payment APIs: an authorisation is created for an
amount, a currency and a card token, then captured (once, all or part of it),
refunded (any number of times, up to what was captured) or voided while
uncaptured. Every POST carries an ``Idempotency-Key``: the first request with a
key runs and its answer is stored; a later request with the same key and the
same body (method, path and JSON, compared after parsing) gets that answer again
with ``Idempotent-Replayed: true``; the same key with another body is refused
with 409. Requests with one key are serialised, so concurrent retries produce
one authorisation. Answers that ran nothing (a malformed body, a bad field, an
unknown payment, a missing credential) are not stored: the caller may fix the
request and reuse the key.

State lives in this process's memory: a restart forgets every payment, key
and event (fine for a sandbox whose clients are tests and a local stack).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from devstack.payments_sandbox import money
from devstack.payments_sandbox.config import Config, load, webhook_url_error
from devstack.payments_sandbox.webhooks import Deliverer, Delivery, Event

PROBLEM_TYPE = "application/problem+json"
MAX_KEY_LENGTH = 255
MAX_REFERENCE_LENGTH = 200
# Test tokens: the card numbers of this sandbox. Anything else is a 422.
TOKENS = ("tok_approve", "tok_decline", "tok_timeout", "tok_slow")
DECLINE_CODE = "insufficient_funds"


class SandboxProblem(Exception):  # noqa: N818 - an RFC 9457 problem, answered as it is
    """An error answer. ``stored``: the operation ran, so its key replays this answer."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        stored: bool = False,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.stored = stored
        self.headers = headers or {}
        self.body: dict[str, Any] = {
            "type": f"https://payments-sandbox.invalid/problems/{code}",
            "title": code.replace("_", " ").capitalize(),
            "status": status,
            "detail": detail,
            "code": code,
            **extra,
        }


def _problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


@dataclass
class Refund:
    id: str
    amount: int
    created: int


@dataclass
class Payment:
    id: str
    amount: int
    currency: str
    token: str
    reference: str | None
    idempotency_key: str
    created: int
    status: str  # authorized | declined | captured | partially_refunded | refunded | voided
    amount_captured: int = 0
    refunds: list[Refund] = field(default_factory=list)
    decline_code: str | None = None

    @property
    def amount_refunded(self) -> int:
        return sum(r.amount for r in self.refunds)

    def to_dict(self) -> dict[str, Any]:
        major = money.to_major
        return {
            "id": self.id,
            "object": "payment",
            "status": self.status,
            "amount": major(self.amount, self.currency),
            "currency": self.currency,
            "amount_captured": major(self.amount_captured, self.currency),
            "amount_refunded": major(self.amount_refunded, self.currency),
            "token": self.token,
            "reference": self.reference,
            "idempotency_key": self.idempotency_key,
            "decline_code": self.decline_code,
            "created": self.created,
            "refunds": [
                {"id": r.id, "amount": major(r.amount, self.currency), "created": r.created}
                for r in self.refunds
            ],
        }


@dataclass
class Outcome:
    """What an idempotent operation answered, and how long to hold that answer back."""

    status: int
    body: dict[str, Any]
    delay: float = 0.0


@dataclass
class Stored:
    fingerprint: str
    method_path: str
    status: int
    body: dict[str, Any]


class State:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.payments: dict[str, Payment] = {}
        self.by_create_key: dict[str, str] = {}
        self.answers: dict[str, Stored] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.events: list[Event] = []
        self.endpoints: dict[str, str] = {
            f"we_env{i}": url for i, url in enumerate(config.webhook_urls)
        }
        self.deliverer = Deliverer(config)

    def emit(self, event_type: str, payment: Payment) -> None:
        event = Event(
            id=f"evt_{secrets.token_hex(12)}",
            type=event_type,
            created=int(time.time()),
            payment_id=payment.id,
            data=payment.to_dict(),
        )
        self.events.append(event)
        for endpoint_id, url in self.endpoints.items():
            delivery = Delivery(endpoint_id=endpoint_id, url=url)
            event.deliveries.append(delivery)
            self.deliverer.send(event, delivery)

    def payment(self, payment_id: str) -> Payment:
        found = self.payments.get(payment_id)
        if found is None:
            raise SandboxProblem(404, "no_such_payment", f"no payment {payment_id!r}")
        return found


def _state(request: Request) -> State:
    state: State = request.app.state.sandbox
    return state


def _check_api_key(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    expected = _state(request).config.api_key
    if expected is None:
        return
    scheme, _, given = (authorization or "").partition(" ")
    # Constant-time: the comparison must not tell a caller how much of a guess was right.
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
        raise SandboxProblem(
            401,
            "unauthorized",
            "send the sandbox's API key as 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": 'Bearer realm="payments-sandbox"'},
        )


# --- request bodies ------------------------------------------------------------


def _invalid(errors: list[dict[str, str]]) -> SandboxProblem:
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return SandboxProblem(422, "invalid_request", summary, errors=errors)


def _object(body: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _invalid([{"field": "(body)", "message": "must be a JSON object"}])
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise _invalid(
            [
                {"field": k, "message": f"unknown member; allowed: {sorted(allowed)}"}
                for k in unknown
            ]
        )
    return body


def _amount_errors(raw: Any, currency: str) -> tuple[int | None, str | None]:
    """(minor units, None) or (None, why not)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return None, 'must be a decimal string in the currency\'s major unit, e.g. "12.34"'
    if isinstance(raw, float):
        # A JSON number with a fraction is a binary float: 0.1 + 0.2 is not 0.3.
        return None, f'give the amount as a decimal string ("{raw}"), not a JSON number'
    try:
        return money.to_minor(str(raw), currency), None
    except money.AmountError as exc:
        return None, str(exc)


def _parse_create(body: Any) -> tuple[int, str, str, str | None]:
    body = _object(body, {"amount", "currency", "token", "reference"})
    errors: list[dict[str, str]] = []
    for name in ("amount", "currency", "token"):
        if name not in body:
            errors.append({"field": name, "message": "required"})
    currency = body.get("currency")
    if "currency" in body and (not isinstance(currency, str) or money.currency_error(currency)):
        message = money.currency_error(currency) if isinstance(currency, str) else None
        errors.append({"field": "currency", "message": message or "must be a string"})
        currency = None
    token = body.get("token")
    if "token" in body and token not in TOKENS:
        errors.append(
            {"field": "token", "message": f"{token!r} is not a test token; use one of {TOKENS}"}
        )
    reference = body.get("reference")
    if reference is not None and (
        not isinstance(reference, str) or not 1 <= len(reference) <= MAX_REFERENCE_LENGTH
    ):
        errors.append(
            {"field": "reference", "message": f"a string of 1..{MAX_REFERENCE_LENGTH} characters"}
        )
    minor = None
    if "amount" in body and isinstance(currency, str):
        minor, why = _amount_errors(body["amount"], currency)
        if why:
            errors.append({"field": "amount", "message": why})
    if errors:
        raise _invalid(errors)
    assert isinstance(currency, str) and isinstance(token, str) and minor is not None  # noqa: S101
    return minor, currency, token, reference


def _optional_amount(body: Any, currency: str) -> int | None:
    body = _object({} if body is None else body, {"amount"})
    if body.get("amount") is None:
        return None
    minor, why = _amount_errors(body["amount"], currency)
    if why:
        raise _invalid([{"field": "amount", "message": why}])
    return minor


# --- the idempotency layer --------------------------------------------------------


async def _idempotent(
    request: Request, key: str | None, operation: Callable[[Any], Outcome]
) -> Response:
    state = _state(request)
    if key is None or not key.strip():
        raise SandboxProblem(
            400,
            "idempotency_key_missing",
            "every POST needs an Idempotency-Key header (derive it from what the call is for, "
            "e.g. '<order id>:authorise', so a retry sends the same one)",
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise SandboxProblem(
            400,
            "idempotency_key_invalid",
            f"an Idempotency-Key is 1..{MAX_KEY_LENGTH} printable characters",
        )
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SandboxProblem(400, "malformed_json", f"the body is not JSON: {exc}") from None
    method_path = f"{request.method} {request.url.path}"
    canonical = json.dumps([method_path, body], sort_keys=True, separators=(",", ":"))
    fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
    lock = state.locks.setdefault(key, asyncio.Lock())
    async with lock:
        stored = state.answers.get(key)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise SandboxProblem(
                    409,
                    "idempotency_key_reused",
                    f"Idempotency-Key {key!r} was first used for {stored.method_path} with "
                    "another body; a key names one request: use a new key for a new request",
                    first_request=stored.method_path,
                )
            return _answer(stored.status, stored.body, replayed=True)
        try:
            outcome = operation(body)
        except SandboxProblem as problem:
            if not problem.stored:
                raise
            outcome = Outcome(problem.status, problem.body)
        state.answers[key] = Stored(fingerprint, method_path, outcome.status, outcome.body)
    # The answer is recorded before it is held back: a caller that gave up waiting
    # finds the payment by its key, and a retry with the key replays it at once.
    if outcome.delay:
        await asyncio.sleep(outcome.delay)
    return _answer(outcome.status, outcome.body, replayed=False)


def _answer(status: int, body: dict[str, Any], *, replayed: bool) -> Response:
    headers = {"Idempotent-Replayed": "true" if replayed else "false"}
    media = PROBLEM_TYPE if status >= 400 else "application/json"
    return JSONResponse(body, status_code=status, media_type=media, headers=headers)


# --- operations -------------------------------------------------------------------


def _create(state: State, key: str, body: Any) -> Outcome:
    minor, currency, token, reference = _parse_create(body)
    payment = Payment(
        id=f"pay_{secrets.token_hex(12)}",
        amount=minor,
        currency=currency,
        token=token,
        reference=reference,
        idempotency_key=key,
        created=int(time.time()),
        status="authorized",
    )
    state.payments[payment.id] = payment
    state.by_create_key[key] = payment.id
    if token == "tok_decline":  # noqa: S105 - a test card token, not a secret
        payment.status = "declined"
        payment.decline_code = DECLINE_CODE
        state.emit("payment.failed", payment)
        raise SandboxProblem(
            402,
            "card_declined",
            "the card was declined (insufficient funds)",
            stored=True,
            decline_code=DECLINE_CODE,
            payment=payment.to_dict(),
        )
    state.emit("payment.authorized", payment)
    delay = {
        "tok_slow": state.config.slow_seconds,
        "tok_timeout": state.config.timeout_hold_seconds,
    }
    return Outcome(201, payment.to_dict(), delay.get(token, 0.0))


def _refuse_state(payment: Payment, action: str, advice: str) -> SandboxProblem:
    return SandboxProblem(
        409,
        "invalid_state",
        f"payment {payment.id} is {payment.status}: it cannot be {action}{advice}",
        stored=True,
        payment_status=payment.status,
    )


def _capture(state: State, payment_id: str, body: Any) -> Outcome:
    payment = state.payment(payment_id)
    minor = _optional_amount(body, payment.currency)
    if payment.status != "authorized":
        advice = " again (one capture per authorisation)" if payment.amount_captured else ""
        raise _refuse_state(payment, "captured", advice)
    minor = payment.amount if minor is None else minor
    if minor > payment.amount:
        capturable = money.to_major(payment.amount, payment.currency)
        raise SandboxProblem(
            422,
            "amount_exceeds_capturable",
            f"at most {capturable} {payment.currency} can be captured, "
            f"{money.to_major(minor, payment.currency)} was asked",
            stored=True,
            capturable=capturable,
        )
    # One capture per authorisation; an uncaptured remainder is released.
    payment.amount_captured = minor
    payment.status = "captured"
    state.emit("payment.captured", payment)
    return Outcome(200, payment.to_dict())


def _refund(state: State, payment_id: str, body: Any) -> Outcome:
    payment = state.payment(payment_id)
    minor = _optional_amount(body, payment.currency)
    refundable = payment.amount_captured - payment.amount_refunded
    if payment.status not in ("captured", "partially_refunded") or refundable == 0:
        advice = "; void the authorisation instead" if payment.status == "authorized" else ""
        raise _refuse_state(payment, "refunded", advice)
    minor = refundable if minor is None else minor
    if minor > refundable:
        left = money.to_major(refundable, payment.currency)
        raise SandboxProblem(
            422,
            "amount_exceeds_refundable",
            f"at most {left} {payment.currency} can still be refunded, "
            f"{money.to_major(minor, payment.currency)} was asked",
            stored=True,
            refundable=left,
        )
    refund = Refund(id=f"re_{secrets.token_hex(12)}", amount=minor, created=int(time.time()))
    payment.refunds.append(refund)
    full = payment.amount_refunded == payment.amount_captured
    payment.status = "refunded" if full else "partially_refunded"
    state.emit("payment.refunded", payment)
    answer = {
        "id": refund.id,
        "object": "refund",
        "amount": money.to_major(minor, payment.currency),
        "currency": payment.currency,
        "created": refund.created,
        "payment": payment.to_dict(),
    }
    return Outcome(201, answer)


def _void(state: State, payment_id: str, body: Any) -> Outcome:
    payment = state.payment(payment_id)
    _object({} if body is None else body, set())
    if payment.status != "authorized":
        advice = "; refund it instead" if payment.amount_captured else ""
        raise _refuse_state(payment, "voided", advice)
    payment.status = "voided"
    state.emit("payment.voided", payment)
    return Outcome(200, payment.to_dict())


# --- routes -----------------------------------------------------------------------

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
router = APIRouter(prefix="/v1", dependencies=[Depends(_check_api_key)])


@router.post("/payments")
async def create_payment(request: Request, key: IdempotencyKey = None) -> Response:
    state = _state(request)
    return await _idempotent(request, key, lambda body: _create(state, str(key), body))


@router.get("/payments")
async def list_payments(request: Request, idempotency_key: str | None = None) -> dict[str, Any]:
    """Every payment, or the one an authorisation's key created (a reconciliation's read)."""
    state = _state(request)
    if idempotency_key is None:
        found = list(state.payments.values())
    else:
        payment_id = state.by_create_key.get(idempotency_key)
        found = [state.payments[payment_id]] if payment_id else []
    return {"object": "list", "data": [p.to_dict() for p in found]}


@router.get("/payments/{payment_id}")
async def get_payment(request: Request, payment_id: str) -> dict[str, Any]:
    return _state(request).payment(payment_id).to_dict()


@router.post("/payments/{payment_id}/capture")
async def capture_payment(
    request: Request, payment_id: str, key: IdempotencyKey = None
) -> Response:
    state = _state(request)
    return await _idempotent(request, key, lambda body: _capture(state, payment_id, body))


@router.post("/payments/{payment_id}/refunds")
async def refund_payment(request: Request, payment_id: str, key: IdempotencyKey = None) -> Response:
    state = _state(request)
    return await _idempotent(request, key, lambda body: _refund(state, payment_id, body))


@router.post("/payments/{payment_id}/void")
async def void_payment(request: Request, payment_id: str, key: IdempotencyKey = None) -> Response:
    state = _state(request)
    return await _idempotent(request, key, lambda body: _void(state, payment_id, body))


@router.get("/events")
async def list_events(
    request: Request, payment_id: str | None = None, type: str | None = None
) -> dict[str, Any]:
    """Events with their delivery attempts: what a receiver that was down reconciles from."""
    events = [
        e.to_dict()
        for e in _state(request).events
        if (payment_id is None or e.payment_id == payment_id) and (type is None or e.type == type)
    ]
    return {"object": "list", "data": events}


@router.post("/webhook_endpoints", status_code=201)
async def add_endpoint(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SandboxProblem(400, "malformed_json", f"the body is not JSON: {exc}") from None
    body = _object(body, {"url"})
    url = body.get("url")
    why = webhook_url_error(url) if isinstance(url, str) else "required, a string"
    if why:
        raise _invalid([{"field": "url", "message": why}])
    endpoint_id = f"we_{secrets.token_hex(8)}"
    _state(request).endpoints[endpoint_id] = str(url)
    return {"id": endpoint_id, "object": "webhook_endpoint", "url": url}


@router.get("/webhook_endpoints")
async def list_endpoints(request: Request) -> dict[str, Any]:
    endpoints = _state(request).endpoints
    return {"object": "list", "data": [{"id": i, "url": u} for i, u in endpoints.items()]}


@router.delete("/webhook_endpoints/{endpoint_id}", status_code=204)
async def delete_endpoint(request: Request, endpoint_id: str) -> Response:
    if _state(request).endpoints.pop(endpoint_id, None) is None:
        raise SandboxProblem(404, "no_such_endpoint", f"no webhook endpoint {endpoint_id!r}")
    return Response(status_code=204)


def create_app(config: Config | None = None) -> FastAPI:
    """The sandbox app; settings from the environment unless given (a bad one fails here)."""
    config = load() if config is None else config

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.sandbox = State(config)
        try:
            yield
        finally:
            await app.state.sandbox.deliverer.close()

    app = FastAPI(title="Payment provider sandbox", version="1", lifespan=lifespan)
    app.include_router(router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(SandboxProblem)
    async def on_problem(request: Request, exc: SandboxProblem) -> Response:
        return _problem_response(exc.status, exc.body, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        problem = SandboxProblem(exc.status_code, code, str(exc.detail))
        return _problem_response(problem.status, problem.body, dict(exc.headers or {}))

    return app
