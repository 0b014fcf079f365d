"""The Slack and Telegram stand-ins as their callers see them: credentials checked,
bad bodies refused in each service's own words, accepted messages recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from devstack.chat_sandbox.app import MAX_MESSAGES, TELEGRAM_MAX_TEXT, create_app
from devstack.chat_sandbox.config import ConfigError, load

SLACK_PATH = "T0001/B0002/abcdef0123456789"
TOKEN = "123456789:AAE-secret_token"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "slack").write_text(SLACK_PATH + "\n")
    (tmp_path / "token").write_text(TOKEN + "\n")
    return {
        "CHAT_SANDBOX_SLACK_WEBHOOK_PATH_FILE": str(tmp_path / "slack"),
        "CHAT_SANDBOX_TELEGRAM_BOT_TOKEN_FILE": str(tmp_path / "token"),
    }


@pytest.fixture
def client(env: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(load(env))) as test_client:
        yield test_client


def test_slack_webhook_records_the_message(client: TestClient) -> None:
    response = client.post(f"/services/{SLACK_PATH}", json={"text": "hello", "channel": "#ops"})
    assert (response.status_code, response.text) == (200, "ok")
    (message,) = client.get("/messages", params={"receiver": "slack"}).json()["messages"]
    assert (message["receiver"], message["chat"], message["text"]) == ("slack", "#ops", "hello")
    assert client.get("/messages", params={"receiver": "telegram"}).json()["messages"] == []


def test_slack_attachments_count_as_text(client: TestClient) -> None:
    body = {"attachments": [{"title": "[FIRING:1] x", "text": "summary"}]}
    assert client.post(f"/services/{SLACK_PATH}", json=body).status_code == 200
    (message,) = client.get("/messages").json()["messages"]
    assert message["text"] == "[FIRING:1] x\nsummary"


@pytest.mark.parametrize(
    ("path", "body", "status", "answer"),
    [
        ("T0001/B0002/wrong", {"text": "x"}, 404, "no_service"),
        ("T9999/B0002/abcdef0123456789", {"text": "x"}, 404, "no_service"),
        (SLACK_PATH, None, 400, "invalid_payload"),
        (SLACK_PATH, {"channel": "#ops"}, 400, "no_text"),
    ],
    ids=["wrong-secret", "wrong-team", "not-json", "no-text"],
)
def test_slack_refuses_like_slack(
    client: TestClient, path: str, body: dict[str, str] | None, status: int, answer: str
) -> None:
    if body is None:
        response = client.post(f"/services/{path}", content=b"text=x")
    else:
        response = client.post(f"/services/{path}", json=body)
    assert (response.status_code, response.text) == (status, answer)
    assert client.get("/messages").json()["messages"] == []


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_telegram_send_message_answers_a_message(client: TestClient, form: bool) -> None:
    fields = {"chat_id": "-1001", "text": "[FIRING:1] shop catalog", "parse_mode": "HTML"}
    url = f"/bot{TOKEN}/sendMessage"
    response = client.post(url, data=fields) if form else client.post(url, json=fields)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    assert body["result"]["chat"] == {"id": -1001, "type": "group"}
    assert body["result"]["text"] == fields["text"]
    (message,) = client.get("/messages", params={"receiver": "telegram"}).json()["messages"]
    assert (message["chat"], message["text"]) == ("-1001", fields["text"])


@pytest.mark.parametrize(
    ("token", "body", "status", "description"),
    [
        ("123456789:wrong", {"chat_id": 1, "text": "x"}, 401, "Unauthorized"),
        (TOKEN, {"text": "x"}, 400, "chat_id is empty or not an integer"),
        (TOKEN, {"chat_id": "general", "text": "x"}, 400, "chat_id is empty or not an integer"),
        (TOKEN, {"chat_id": 1, "text": " "}, 400, "message text is empty"),
        (TOKEN, {"chat_id": 1, "text": "x" * (TELEGRAM_MAX_TEXT + 1)}, 400, "message is too long"),
    ],
    ids=["wrong-token", "no-chat", "chat-not-integer", "empty-text", "too-long"],
)
def test_telegram_refuses_like_telegram(
    client: TestClient, token: str, body: dict[str, object], status: int, description: str
) -> None:
    response = client.post(f"/bot{token}/sendMessage", json=body)
    assert response.status_code == status
    answer = response.json()
    assert answer["ok"] is False
    assert answer["error_code"] == status
    assert description in answer["description"]
    assert client.get("/messages").json()["messages"] == []


def test_messages_are_ordered_bounded_and_cleared(client: TestClient) -> None:
    for n in range(MAX_MESSAGES + 5):
        client.post(f"/services/{SLACK_PATH}", json={"text": f"m{n}"})
    messages = client.get("/messages").json()["messages"]
    assert len(messages) == MAX_MESSAGES
    assert [m["text"] for m in messages[:2]] == ["m5", "m6"]
    assert client.delete("/messages").status_code == 204
    assert client.get("/messages").json()["messages"] == []


def test_bad_settings_name_every_variable(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("not-a-token")
    with pytest.raises(ConfigError) as error:
        load({"CHAT_SANDBOX_TELEGRAM_BOT_TOKEN_FILE": str(tmp_path / "token")})
    message = str(error.value)
    assert "CHAT_SANDBOX_SLACK_WEBHOOK_PATH_FILE: required" in message
    assert "CHAT_SANDBOX_TELEGRAM_BOT_TOKEN_FILE" in message
