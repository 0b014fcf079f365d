"""The sandbox's HTTP API as a client sees it: bad input is a problem+json naming the
field, idempotency over raw requests, credentials."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.components.payments import PaymentsSandbox
from tests.support.payments import sandbox_http

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def api(payments_sandbox: PaymentsSandbox) -> Iterator[httpx.Client]:
    with sandbox_http(payments_sandbox) as client:
        yield client


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"test:{uuid.uuid4().hex}"}


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["detail"]
    return body


GOOD = {"amount": "12.34", "currency": "EUR", "token": "tok_approve"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"amount": "-1.00"}, "amount", "greater than zero"),
        ({"amount": "0"}, "amount", "greater than zero"),
        ({"amount": "0.00"}, "amount", "greater than zero"),
        ({"amount": "ten"}, "amount", "not a decimal number"),
        ({"amount": "NaN"}, "amount", "not a finite amount"),
        ({"amount": "1e9"}, "amount", "at most"),
        ({"amount": 12.34}, "amount", "decimal string"),
        ({"amount": None}, "amount", "decimal string"),
        ({"amount": "12.345"}, "amount", "EUR has 2 decimal places"),
        ({"amount": "100.5", "currency": "JPY"}, "amount", "JPY has no minor units"),
        ({"amount": "1.2345", "currency": "BHD"}, "amount", "BHD has 3 decimal places"),
        ({"currency": "XYZ"}, "currency", "not a currency this provider accepts"),
        ({"currency": "eur"}, "currency", "not a currency this provider accepts"),
        ({"currency": 978}, "currency", "must be a string"),
        ({"token": "tok_visa"}, "token", "not a test token"),
        ({"reference": ""}, "reference", "1..200"),
        ({"cvc": "123"}, "cvc", "unknown member"),
        ({"amount": ...}, "amount", "required"),
        ({"token": ...}, "token", "required"),
    ],
)
def test_bad_authorisations_name_the_field(
    api: httpx.Client, change: dict[str, Any], field: str, message: str
) -> None:
    body = {k: v for k, v in {**GOOD, **change}.items() if v is not ...}
    problem = _problem(api.post("/v1/payments", json=body, headers=_key()), 422, "invalid_request")
    assert [e["field"] for e in problem["errors"]] == [field]
    assert message in problem["errors"][0]["message"]
    assert message in problem["detail"]


@pytest.mark.parametrize(
    ("amount", "currency", "answered"),
    [
        ("100", "JPY", "100"),
        ("1.5", "EUR", "1.50"),
        ("1.234", "BHD", "1.234"),
        ("7", "KWD", "7.000"),
    ],
)
def test_amounts_are_answered_in_the_currencys_exponent(
    api: httpx.Client, amount: str, currency: str, answered: str
) -> None:
    body = {"amount": amount, "currency": currency, "token": "tok_approve"}
    response = api.post("/v1/payments", json=body, headers=_key())
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == answered


@pytest.mark.parametrize(
    ("headers", "content", "status", "code"),
    [
        (
            {},
            b'{"amount":"1","currency":"EUR","token":"tok_approve"}',
            400,
            "idempotency_key_missing",
        ),
        ({"Idempotency-Key": ""}, b"{}", 400, "idempotency_key_missing"),
        ({"Idempotency-Key": "k" * 256}, b"{}", 400, "idempotency_key_invalid"),
        (_key(), b'{"amount":', 400, "malformed_json"),
        (_key(), b"\xff\xfe", 400, "malformed_json"),
        (_key(), b"[1, 2]", 422, "invalid_request"),
    ],
    ids=["no-key", "blank-key", "long-key", "truncated-json", "not-utf8", "not-an-object"],
)
def test_malformed_requests(
    api: httpx.Client, headers: dict[str, str], content: bytes, status: int, code: str
) -> None:
    response = api.post(
        "/v1/payments", content=content, headers={**headers, "Content-Type": "application/json"}
    )
    _problem(response, status, code)


def test_a_refused_request_is_not_recorded_under_its_key(api: httpx.Client) -> None:
    """Nothing ran, so the caller may fix the body and send it with the same key."""
    key = _key()
    _problem(
        api.post("/v1/payments", json={**GOOD, "amount": "-1"}, headers=key), 422, "invalid_request"
    )
    created = api.post("/v1/payments", json=GOOD, headers=key)
    assert created.status_code == 201, created.text
    assert created.headers["Idempotent-Replayed"] == "false"


def test_same_key_same_body_replays_other_body_conflicts(api: httpx.Client) -> None:
    key = _key()
    first = api.post("/v1/payments", json=GOOD, headers=key)
    # Members in another order are the same body.
    same = api.post("/v1/payments", json=dict(reversed(GOOD.items())), headers=key)
    assert (first.status_code, same.status_code) == (201, 201)
    assert same.json() == first.json()
    assert same.headers["Idempotent-Replayed"] == "true"
    other = api.post("/v1/payments", json={**GOOD, "amount": "12.35"}, headers=key)
    assert _problem(other, 409, "idempotency_key_reused")["first_request"] == "POST /v1/payments"
    listed = api.get("/v1/payments", params={"idempotency_key": key["Idempotency-Key"]})
    assert [p["id"] for p in listed.json()["data"]] == [first.json()["id"]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"amount": "0"}, "greater than zero"),
        ({"amount": "1.001"}, "EUR has 2 decimal places"),
        ({"amount": 1.5}, "decimal string"),
        ({"amount": "1", "extra": True}, "unknown member"),
    ],
)
def test_bad_capture_amounts(api: httpx.Client, body: dict[str, Any], message: str) -> None:
    created = api.post("/v1/payments", json=GOOD, headers=_key())
    capture = api.post(f"/v1/payments/{created.json()['id']}/capture", json=body, headers=_key())
    problem = _problem(capture, 422, "invalid_request")
    assert message in problem["detail"]


@pytest.mark.parametrize(
    "authorization", [None, "Bearer sk_test_wrong", "Basic c2tfdGVzdA==", "Bearer"]
)
def test_the_api_needs_the_key(
    payments_sandbox: PaymentsSandbox, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{payments_sandbox.url}/v1/payments/pay_x", headers=headers)
    _problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_routes_and_methods_are_problems(api: httpx.Client) -> None:
    _problem(api.get("/v1/nothing"), 404, "not_found")
    _problem(api.delete("/v1/payments"), 405, "method_not_allowed")
    _problem(api.get("/v1/payments/pay_nothing"), 404, "no_such_payment")
