"""The Web Push component: started by a plain `devstack up` on its own port; a private
instance issues subscriptions whose endpoints are on its origin and checks VAPID."""

from __future__ import annotations

from pathlib import Path

import httpx

from devstack.component import Context
from devstack.components.webpush import DEFAULT_PORT, WebPushSandbox
from devstack.paths import Paths
from devstack.process import Endpoint
from devstack.stack import Stack
from tests.operator.handlers.support import free_port


def test_make_up_starts_it(tmp_path: Path) -> None:
    stack = Stack(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    assert "webpush" in stack.default_names()
    component = stack.components["webpush"]
    assert isinstance(component, WebPushSandbox)
    assert component.endpoints()["http"] == Endpoint("127.0.0.1", DEFAULT_PORT)


def test_a_private_instance_issues_subscriptions_and_wants_vapid(tmp_path: Path) -> None:
    port = free_port()
    paths = Paths(cache=tmp_path / "cache", state=tmp_path / "state")
    stack = Stack(Context(paths=paths, tie_to_parent=True, options={"webpush.port": str(port)}))
    component = stack.components["webpush"]
    assert isinstance(component, WebPushSandbox)
    try:
        [result] = stack.up(["webpush"])
        assert result.action == "started"
        assert component.env() == {"WEBPUSH_SANDBOX_URL": f"http://127.0.0.1:{port}"}
        made = httpx.post(f"{component.url}/subscriptions", timeout=5)
        assert made.status_code == 201
        endpoint = made.json()["endpoint"]
        assert endpoint.startswith(f"http://127.0.0.1:{port}/push/")
        unsigned = httpx.post(endpoint, content=b"x", headers={"TTL": "60"}, timeout=5)
        assert unsigned.status_code == 401
        assert "VAPID" in unsigned.json()["detail"]
    finally:
        stack.down(["webpush"])
