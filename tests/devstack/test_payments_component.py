"""The payments component: started by a plain `devstack up`, on loopback, and gone
after `devstack down` (no process, no port, no pid file), even with answers held."""

from __future__ import annotations

import contextlib
import stat
import threading
import time
from pathlib import Path

import httpx
import psutil

from devstack.component import Context
from devstack.components.payments import DEFAULT_PORT, PaymentsSandbox
from devstack.paths import Paths
from devstack.process import Endpoint, port_open, read_pid_file
from devstack.stack import Stack
from tests.operator.handlers.support import free_port


def test_make_up_starts_it_and_nothing_starts_before_it(tmp_path: Path) -> None:
    stack = Stack(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    assert "payments" in stack.default_names()
    assert stack.expand(["payments"]) == ["payments"]
    component = stack.components["payments"]
    assert isinstance(component, PaymentsSandbox)
    assert component.endpoints()["http"] == Endpoint("127.0.0.1", DEFAULT_PORT)


def test_down_leaves_nothing_behind(tmp_path: Path) -> None:
    port = free_port()
    paths = Paths(cache=tmp_path / "cache", state=tmp_path / "state")
    stack = Stack(Context(paths=paths, tie_to_parent=True, options={"payments.port": str(port)}))
    component = stack.components["payments"]
    assert isinstance(component, PaymentsSandbox)
    try:
        [result] = stack.up(["payments"])
        assert result.action == "started"
        process = read_pid_file(component.pid_file("payments"))
        assert process is not None
        family = [process, *process.children(recursive=True)]
        listening = {
            c.laddr.ip
            for c in psutil.net_connections("tcp")
            if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
        }
        assert listening == {"127.0.0.1"}
        for secret in (component.api_key_file, component.webhook_secret_file):
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert component.env()["PAYMENTS_SANDBOX_URL"] == f"http://127.0.0.1:{port}"

        # An answer tok_timeout holds for 30 s must not hold up the stop.
        def hold() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(
                    f"{component.url}/v1/payments",
                    json={"amount": "1", "currency": "EUR", "token": "tok_timeout"},
                    headers={
                        "Idempotency-Key": "held",
                        "Authorization": f"Bearer {component.api_key()}",
                    },
                    timeout=60,
                )

        holder = threading.Thread(target=hold, daemon=True)
        holder.start()
        payment = None
        for _ in range(100):
            listed = httpx.get(
                f"{component.url}/v1/payments",
                params={"idempotency_key": "held"},
                headers={"Authorization": f"Bearer {component.api_key()}"},
            ).json()["data"]
            if listed:
                payment = listed[0]
                break
            holder.join(0.1)
        assert payment is not None
    finally:
        stopping = time.monotonic()
        stopped = stack.down(["payments"], purge=True)
    assert stopped == ["payments"]
    # uvicorn's graceful shutdown gives held answers 1 s, not the stop's 30 s.
    assert time.monotonic() - stopping < 10
    _gone, alive = psutil.wait_procs(family, timeout=5)
    assert not alive
    holder.join(5)
    assert not holder.is_alive()
    assert not port_open(Endpoint("127.0.0.1", port))
    assert not component.pid_file("payments").exists()
    assert not component.state_dir.exists()
