"""Fixtures of the operator process tests: a sandbox and a running operator per test."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from devstack.components.cassandra import Cassandra
from devstack.components.helm import Helm
from devstack.components.kube import KubeApiserver
from devstack.components.openbao import OpenBao
from tests.operator.handlers.support import Harness, OperatorProcess, Sandbox, sandbox

_log = logging.getLogger(__name__)


@pytest.fixture
def box(
    kube_api: client.ApiClient,
    openbao: OpenBao,
    cassandra: Cassandra,
    productstore_crd: dict[str, Any],
) -> Iterator[Sandbox]:
    """The test's namespace. The stores' Cassandra is devstack's (their keyspaces and
    roles are made there, and dropped when the sandbox goes), so it must be running."""
    with sandbox(kube_api, openbao) as created:
        yield created


@pytest.fixture
def h(
    box: Sandbox, kube: KubeApiserver, helm: Helm, openbao: OpenBao, tmp_path: Path
) -> Iterator[Harness]:
    process = OperatorProcess(box, kube, helm, openbao, tmp_path)
    process.start()
    try:
        yield Harness(box, process, openbao, helm, kube, tmp_path)
    finally:
        process.stop()
        # Shown by pytest when the test failed.
        _log.info("operator logs:\n%s", process.logs()[-20000:])
