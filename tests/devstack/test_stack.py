"""stack: name resolution, start order and stop order over the real registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.component import Context
from devstack.errors import DevstackError
from devstack.paths import Paths
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
