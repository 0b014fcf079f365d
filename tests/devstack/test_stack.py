"""stack: name resolution, start order and stop order over the real registry."""

from __future__ import annotations

import concurrent.futures
import socket
import sys
from pathlib import Path

import psutil
import pytest

from devstack import process
from devstack.component import Component, Context
from devstack.errors import DevstackError
from devstack.paths import Paths
from devstack.process import Endpoint, ProcessSpec, port_open
from devstack.stack import Stack


@pytest.fixture
def stack(tmp_path: Path) -> Stack:
    return Stack(Context(paths=Paths(cache=tmp_path / "cache", state=tmp_path / "state")))


@pytest.mark.parametrize(
    ("names", "must_precede"),
    [
        (["kube-apiserver"], [("etcd", "kube-apiserver")]),
        (["kwok"], [("etcd", "kube-apiserver"), ("kube-apiserver", "kwok")]),
        (
            ["kube"],
            [
                ("etcd", "kube-apiserver"),
                ("kube-apiserver", "kube-scheduler"),
                ("kube-apiserver", "kube-controller-manager"),
                ("kube-apiserver", "kwok"),
            ],
        ),
    ],
)
def test_requirements_start_first(
    stack: Stack, names: list[str], must_precede: list[tuple[str, str]]
) -> None:
    order = stack.expand(names)
    for first, then in must_precede:
        assert order.index(first) < order.index(then), order


def test_no_two_components_listen_on_one_address(stack: Stack) -> None:
    """A port clash shows up as "port in use" at `make up` time; here it is found
    when a component is added (Kafka's controller and Alertmanager both wanted 9093)."""
    owners: dict[Endpoint, str] = {}
    for name, component in stack.components.items():
        for endpoint in component.endpoints().values():
            assert endpoint not in owners, f"{name} and {owners[endpoint]} both use {endpoint}"
            owners[endpoint] = name


def test_each_name_once(stack: Stack) -> None:
    order = stack.expand(["kwok", "kube", "etcd", "redis", "redis"])
    assert len(order) == len(set(order))


def test_all_excludes_on_request_components(stack: Stack) -> None:
    everything = stack.expand(["all"])
    assert "cassandra" in everything
    assert "cassandra-cluster" not in everything
    assert "cassandra-cluster" in stack.expand(["cassandra-cluster"])


def test_unknown_name_lists_the_known_ones(stack: Stack) -> None:
    with pytest.raises(DevstackError, match=r"casandra: unknown component; known: .*cassandra"):
        stack.expand(["casandra"])


def test_stopping_a_requirement_stops_its_dependents_first(stack: Stack) -> None:
    order = stack.stopping_order(["etcd"])
    assert order[-1] == "etcd"
    assert set(order) >= {"etcd", "kube-apiserver", "kube-scheduler", "kwok"}
    assert "redis" not in order


def test_stopping_everything_reverses_start_order(stack: Stack) -> None:
    start = stack.expand(list(stack.components))
    assert stack.stopping_order(None) == list(reversed(start))


def test_env_names_where_state_lives(stack: Stack, tmp_path: Path) -> None:
    env = stack.env(["redis"])
    assert env["PRODUCTSTORE_STATE"] == str(tmp_path / "state")
    assert env["REDIS_URL"] == "redis://127.0.0.1:6379/0"


def test_nothing_running_means_nothing_stopped(stack: Stack) -> None:
    assert stack.down() == []


class _Listener(Component):
    """A throwaway server on a free port: exercises the stack without real servers."""

    name = "listener"
    description = "python listener for stack tests"
    ready_timeout = 20.0
    port = 0

    def endpoints(self) -> dict[str, Endpoint]:
        return {"tcp": Endpoint("127.0.0.1", self.port)}

    def processes(self) -> list[ProcessSpec]:
        code = (
            "import socket, time; s = socket.socket(); "
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
            f"time.sleep(1); s.bind(('127.0.0.1', {self.port})); s.listen(); time.sleep(120)"
        )
        return [ProcessSpec(self.name, [sys.executable, "-c", code])]

    def ready(self) -> bool:
        return port_open(Endpoint("127.0.0.1", self.port))


def _listener_stack(tmp_path: Path, port: int) -> Stack:
    stack = Stack(Context(paths=Paths(cache=tmp_path / "cache", state=tmp_path / "state")))
    component = _Listener(stack.ctx)
    component.port = port
    stack.components = {component.name: component}
    return stack


def test_concurrent_ups_start_one_process_and_reuse_it(tmp_path: Path) -> None:
    """Two test sessions asking for the same component must not kill each other's start."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stacks = [_listener_stack(tmp_path, port) for _ in range(2)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda s: s.up(["listener"])[0].action, stacks))
    try:
        assert sorted(results) == ["reused", "started"]
        assert len(stacks[0].status()[0].pids) == 1
    finally:
        assert stacks[0].down() == ["listener"]


class _SecondListener(_Listener):
    name = "listener-2"


def test_up_reports_each_component_as_soon_as_it_is_ready(tmp_path: Path) -> None:
    """`make up` and `make test` print each component as it comes up (a cold start of
    everything takes minutes), not the whole list at the end."""
    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    stack = _listener_stack(tmp_path, ports[0])
    second = _SecondListener(stack.ctx)
    second.port = ports[1]
    stack.components[second.name] = second
    heard: list[tuple[str, str, bool]] = []
    try:
        results = stack.up(
            ["listener", "listener-2"],
            on_result=lambda r: heard.append((r.name, r.action, stack.is_running(second))),
        )
        assert heard == [("listener", "started", False), ("listener-2", "started", True)]
        assert [(r.name, r.action) for r in results] == [(n, a) for n, a, _ in heard]
        assert (results[0].progress() or "").startswith(f"  {'listener':<24} started, ready in")
    finally:
        assert sorted(stack.down()) == ["listener", "listener-2"]


def test_running_but_never_ready_is_restarted(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stack = _listener_stack(tmp_path, port)
    component = stack.components["listener"]
    # A leftover process of the component that does not answer.
    stale = process.start(
        ProcessSpec("listener", [sys.executable, "-c", "import time; time.sleep(120)"]),
        log_file=component.log_file,
        pid_file=component.pid_file("listener"),
    )
    try:
        assert stack.up(["listener"])[0].action == "started"
        psutil.wait_procs([stale], timeout=10)
        assert not stale.is_running() or stale.status() == psutil.STATUS_ZOMBIE
    finally:
        stack.down()
