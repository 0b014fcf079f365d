"""Tests on devstack's real node (opt-in): the gate, and the node's state around a test.

Some tests need a node that runs (a Pod, a store on it), others start it and stop it
themselves to check what `up` and `down` do. In one session they meet: each leaves
the node as it found it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from devstack.component import Context
from devstack.components.node import Node
from devstack.paths import Paths
from devstack.stack import Stack

OPT_IN = "PRODUCTSTORE_REAL_NODE"
needs_real_node = pytest.mark.skipif(
    os.environ.get(OPT_IN) != "1",
    reason=f"the real node is opt-in: {OPT_IN}=1 provisions and starts containerd and a "
    "kubelet, which change this machine's network while they run",
)


def _node(stack: Stack) -> Node:
    node = stack.components["node"]
    if not isinstance(node, Node):
        raise TypeError(f"node is a {type(node).__name__}")
    return node


@contextmanager
def stopped_node(stack: Stack) -> Iterator[Node]:
    """The block starts with the node stopped (it tests `up` and `down`); a node that
    ran before is started again after it."""
    node = _node(stack)
    was_running = stack.is_running(node)
    if was_running:
        stack.down(["node"], dependents=False)
    try:
        yield node
    finally:
        if was_running:
            stack.up(["node"])


@pytest.fixture
def node_stopped_first() -> Iterator[None]:
    """For a test that starts and stops the node itself: a running node is stopped
    before it and started again after it."""
    stack = Stack(Context(paths=Paths.from_env(), tie_to_parent=True))
    with stopped_node(stack):
        yield
