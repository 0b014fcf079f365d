"""Tests on devstack's real node: the node's state around a test.

Some tests need a node that runs (a Pod, a store on it), others start it and stop it
themselves to check what `up` and `down` do. In one session they meet: each leaves
the node as it found it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from devstack.component import Context
from devstack.components.node import Node
from devstack.paths import Paths
from devstack.stack import Stack


def _node(stack: Stack) -> Node:
    node = stack.components["node"]
    if not isinstance(node, Node):
        raise TypeError(f"node is a {type(node).__name__}")
    return node


@contextmanager
def stopped_node(paths: Paths) -> Iterator[Node]:
    """The block starts with the node stopped (it tests `up` and `down`); a node that
    ran before is started again after it.

    `down` runs even when no node process runs: a node whose processes died (one tied
    to an earlier pytest that exited, say) leaves its chains, cgroups and mounts, and
    the block's "before" must not hold them. The node started again is not tied to
    this pytest: it was running before, so it outlives the test run as it would have
    (a session that started it stops it at its end, by name)."""
    stack = Stack(Context(paths=paths, tie_to_parent=True))
    node = _node(stack)
    was_running = stack.is_running(node)
    stack.down(["node"], dependents=False)
    try:
        yield node
    finally:
        if was_running:
            Stack(Context(paths=paths)).up(["node"])


@pytest.fixture(scope="module")
def node_stopped_first() -> Iterator[None]:
    """For the tests of a module that start and stop the node themselves: a running
    node is stopped before the first and started again after the last (one stop and
    one start per module, not per test: each costs about a minute)."""
    with stopped_node(Paths.from_env()):
        yield
