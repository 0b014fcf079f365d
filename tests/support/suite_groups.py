"""The xdist groups of `make test`'s parallel phase (tools/run_suite.py).

Each group runs on one pytest-xdist worker, one test after another, in the order
collected. A group is a top-level test package (tests/<package>): its tests keep
their package's fixed names and session fixtures to themselves. Every module with a
test on the real node is in the group ``node`` instead: those tests stop, restart
and fill the one node, so they never overlap. The longest groups come first, so
that the phase does not end waiting on one of them.

xdist's own ``--dist loadgroup`` reads the group into the node id, which pytest 9.2
no longer lets a plugin change (xdist 3.8.0 sets an attribute pytest stopped
reading, so every test became its own unit). So the workers write the groups they
assigned to a file (``GROUPS_FILE_ENV``) and the controller's scheduler,
:class:`GroupScheduling`, reads them from there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

# Where the workers write {node id: group} for the controller (set by the controller).
GROUPS_FILE_ENV = "PRODUCTSTORE_SUITE_GROUPS"
NODE = "node"
# A test with one of these fixtures runs Pods on the real node, or stops and starts it.
NODE_FIXTURES = frozenset({"real_node", "node_stopped_first"})
# Longest first (the per-package table `make test` prints says how long each is).
FIRST = (NODE, "operator", "devstack", "orders", "smoke")


def module_of(nodeid: str) -> str:
    """The file part of a node id (``tests/a/test_b.py::test_c[x]`` → ``tests/a/test_b.py``)."""
    return nodeid.split("::", 1)[0]


def package_of(nodeid: str) -> str:
    """The top-level test package of a node id, or its first path part outside tests/."""
    parts = PurePosixPath(module_of(nodeid)).parts
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else parts[0]


def assign(tests: Iterable[tuple[str, Iterable[str]]]) -> dict[str, str]:
    """Node id → group, from (node id, the test's fixture names) pairs."""
    tests = list(tests)
    on_node = {module_of(nodeid) for nodeid, fixtures in tests if NODE_FIXTURES & set(fixtures)}
    return {
        nodeid: NODE if module_of(nodeid) in on_node else package_of(nodeid) for nodeid, _ in tests
    }


def rank(group: str) -> int:
    """Sort key of a group: the FIRST ones in their order, then the rest as collected."""
    return FIRST.index(group) if group in FIRST else len(FIRST)


def write(path: Path, groups: dict[str, str]) -> None:
    """Every worker writes the same map; a rename makes each write whole."""
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(groups))
    partial.replace(path)


class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
    """xdist's scope scheduling with our groups as the scopes: a group's tests go to
    one worker, in collection order; groups start in collection order too."""

    def __init__(self, config: pytest.Config, log: Producer | None, groups_file: Path) -> None:
        super().__init__(config, log)
        self.groups_file = groups_file
        self._groups: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._groups is None:
            # Read once the workers have collected (scheduling starts after that).
            self._groups = json.loads(self.groups_file.read_text())
        return self._groups.get(nodeid) or package_of(nodeid)
