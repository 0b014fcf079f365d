"""The SMS stand-in as a provider's clients see it: the key checked, bad bodies refused
with a detail, messages recorded per account, faults on demand, references replayed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from devstack.sms_sandbox.app import create_app
from devstack.sms_sandbox.config import ConfigError, load

KEY = "sms_test_0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    (tmp_path / "key").write_text(KEY + "\n")
    with TestClient(create_app(load({"SMS_SANDBOX_API_KEY_FILE": str(tmp_path / "key")}))) as c:
        yield c


def messages(client: TestClient, **params: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get("/messages", params=params).json()["messages"]
    return found


def test_a_message_is_recorded_under_its_account(client: TestClient) -> None:
    sent = client.post(
        "/primary/v1/messages", json={"to": "+447700900123", "body": "hello"}, headers=AUTH
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "queued"
    [message] = messages(client, to="+447700900123")
    assert (message["account"], message["body"]) == ("primary", "hello")
    assert messages(client, account="backup") == []


@pytest.mark.parametrize(
    ("headers", "body", "status", "detail"),
    [
        ({}, {"to": "+447700900123", "body": "x"}, 401, "bearer API key"),
        (
            {"Authorization": "Bearer wrong-key-0123456"},
            {"to": "+447700900123", "body": "x"},
            401,
            "bearer",
        ),
        (AUTH, {"to": "07700 900123", "body": "x"}, 422, "to:"),
        (AUTH, {"to": "+447700900123", "body": ""}, 422, "body:"),
        (AUTH, {"to": "+447700900123", "body": "x", "colour": "red"}, 422, "colour"),
    ],
)
def test_refusals_are_problems_and_not_recorded(
    client: TestClient, headers: dict[str, str], body: dict[str, str], status: int, detail: str
) -> None:
    response = client.post("/primary/v1/messages", json=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]
    assert messages(client) == []


def test_a_fault_fails_one_account_until_cleared(client: TestClient) -> None:
    body = {"to": "+447700900123", "body": "hi"}
    assert client.put("/primary/fault", json={"status": 503}).status_code == 204
    refused = client.post("/primary/v1/messages", json=body, headers=AUTH)
    assert refused.status_code == 503
    assert "set to fail" in refused.json()["detail"]
    assert client.post("/backup/v1/messages", json=body, headers=AUTH).status_code == 201
    assert client.delete("/primary/fault").status_code == 204
    assert client.post("/primary/v1/messages", json=body, headers=AUTH).status_code == 201
    assert [m["account"] for m in messages(client)] == ["backup", "primary"]


def test_a_reference_sends_once(client: TestClient) -> None:
    body = {"to": "+447700900123", "body": "hi", "reference": "event-1:user:sms"}
    first = client.post("/primary/v1/messages", json=body, headers=AUTH)
    again = client.post("/primary/v1/messages", json=body, headers=AUTH)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert len(messages(client)) == 1
    assert client.delete("/messages").status_code == 204
    assert messages(client) == []


def test_config_needs_a_key_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="API_KEY_FILE: required"):
        load({})
    (tmp_path / "short").write_text("abc\n")
    with pytest.raises(ConfigError, match="no key of 16"):
        load({"SMS_SANDBOX_API_KEY_FILE": str(tmp_path / "short")})
