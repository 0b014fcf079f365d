"""The SMS component: started by a plain `devstack up` on its own port, its key in a 0600
file kept across restarts; a private instance sends, fails on demand and recovers."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx

from devstack.component import Context
from devstack.components.sms import ACCOUNTS, DEFAULT_PORT, SmsSandbox
from devstack.paths import Paths
from devstack.process import Endpoint
from devstack.stack import Stack
from tests.operator.handlers.support import free_port


def test_make_up_starts_it(tmp_path: Path) -> None:
    stack = Stack(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    assert "sms" in stack.default_names()
    component = stack.components["sms"]
    assert isinstance(component, SmsSandbox)
    assert component.endpoints()["http"] == Endpoint("127.0.0.1", DEFAULT_PORT)
    assert component.provider_urls() == [
        f"http://127.0.0.1:{DEFAULT_PORT}/{account}" for account in ACCOUNTS
    ]


def test_a_private_instance_sends_fails_on_demand_and_keeps_its_key(tmp_path: Path) -> None:
    port = free_port()
    paths = Paths(cache=tmp_path / "cache", state=tmp_path / "state")
    stack = Stack(Context(paths=paths, tie_to_parent=True, options={"sms.port": str(port)}))
    component = stack.components["sms"]
    assert isinstance(component, SmsSandbox)
    try:
        [result] = stack.up(["sms"])
        assert result.action == "started"
        assert stat.S_IMODE(component.api_key_file.stat().st_mode) == 0o600
        env = component.env()
        assert env["SMS_SANDBOX_URL"] == f"http://127.0.0.1:{port}"
        key = Path(env["SMS_SANDBOX_API_KEY_FILE"]).read_text().strip()
        primary, backup = component.provider_urls()
        body = {"to": "+447700900123", "body": "hi"}
        auth = {"Authorization": f"Bearer {key}"}
        assert httpx.put(f"{primary}/fault", json={"status": 503}, timeout=5).status_code == 204
        assert httpx.post(f"{primary}/v1/messages", json=body, headers=auth).status_code == 503
        assert httpx.post(f"{backup}/v1/messages", json=body, headers=auth).status_code == 201
        assert httpx.delete(f"{primary}/fault", timeout=5).status_code == 204
        assert httpx.post(f"{primary}/v1/messages", json=body, headers=auth).status_code == 201
        listed = httpx.get(f"{component.url}/messages", timeout=5).json()["messages"]
        assert [m["account"] for m in listed] == ["backup", "primary"]
    finally:
        stack.down(["sms"])
    before = component.api_key_file.read_text()
    component.prepare()
    assert component.api_key_file.read_text() == before
