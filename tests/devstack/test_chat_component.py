"""The chat component: started by a plain `devstack up`, on loopback, its credentials in
0600 files that Alertmanager reads, and a message to each stand-in recorded."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx

from devstack.component import Context
from devstack.components.chat import DEFAULT_PORT, ChatSandbox
from devstack.paths import Paths
from devstack.process import Endpoint
from devstack.stack import Stack
from tests.operator.handlers.support import free_port


def test_make_up_starts_it_and_alertmanager_after_it(tmp_path: Path) -> None:
    stack = Stack(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    assert {"chat", "alertmanager"} <= set(stack.default_names())
    assert stack.expand(["alertmanager"]) == ["chat", "alertmanager"]
    component = stack.components["chat"]
    assert isinstance(component, ChatSandbox)
    assert component.endpoints()["http"] == Endpoint("127.0.0.1", DEFAULT_PORT)


def test_a_private_instance_takes_its_credentials_from_its_files(tmp_path: Path) -> None:
    port = free_port()
    paths = Paths(cache=tmp_path / "cache", state=tmp_path / "state")
    stack = Stack(Context(paths=paths, tie_to_parent=True, options={"chat.port": str(port)}))
    component = stack.components["chat"]
    assert isinstance(component, ChatSandbox)
    try:
        [result] = stack.up(["chat"])
        assert result.action == "started"
        for secret in (
            component.slack_path_file,
            component.slack_url_file,
            component.telegram_token_file,
        ):
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        env = component.env()
        assert env["CHAT_SANDBOX_URL"] == env["TELEGRAM_API_URL"] == f"http://127.0.0.1:{port}"
        webhook = Path(env["SLACK_WEBHOOK_URL_FILE"]).read_text().strip()
        token = Path(env["TELEGRAM_BOT_TOKEN_FILE"]).read_text().strip()
        assert httpx.post(webhook, json={"text": "hi"}, timeout=5).text == "ok"
        sent = httpx.post(
            f"{component.url}/bot{token}/sendMessage",
            json={"chat_id": -1, "text": "hi"},
            timeout=5,
        )
        assert sent.json()["ok"] is True
        messages = httpx.get(f"{component.url}/messages", timeout=5).json()["messages"]
        assert [(m["receiver"], m["text"]) for m in messages] == [
            ("slack", "hi"),
            ("telegram", "hi"),
        ]
    finally:
        stack.down(["chat"])
    assert not component.url.startswith("https")
    # The credentials outlive a restart (a configured Alertmanager keeps working).
    before = component.telegram_token_file.read_text()
    component.prepare()
    assert component.telegram_token_file.read_text() == before
