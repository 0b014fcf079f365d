"""cluster_readiness: the K8ssandraCluster status k8ssandra-operator v1.21 writes."""

from __future__ import annotations

from typing import Any

import pytest

from productstore_operator.reconcile.cassandra_step import cluster_readiness


def status(initialized: str, progress: str | None, ready: str) -> dict[str, Any]:
    dc: dict[str, Any] = {"conditions": [{"type": "Ready", "status": ready}]}
    if progress is not None:
        dc["cassandraOperatorProgress"] = progress
    return {
        "status": {
            "conditions": [{"type": "CassandraInitialized", "status": initialized}],
            "datacenters": {"dc1": {"cassandra": dc}},
        }
    }


@pytest.mark.parametrize(
    ("cluster", "waiting_for"),
    [
        ({}, "CassandraInitialized is not True"),
        (status("False", "Updating", "False"), "CassandraInitialized is not True"),
        (status("True", "Updating", "True"), "datacenter dc1 is Updating"),
        (status("True", "Ready", "False"), "datacenter dc1 is Ready"),
        (status("True", None, "True"), "not reported"),
    ],
)
def test_not_ready_says_what_it_waits_for(cluster: dict[str, Any], waiting_for: str) -> None:
    answer = cluster_readiness(cluster, "dc1")
    assert answer is not None
    assert waiting_for in answer


def test_ready_when_initialized_and_the_datacenter_is_ready() -> None:
    assert cluster_readiness(status("True", "Ready", "True"), "dc1") is None
    assert cluster_readiness(status("True", "Ready", "True"), "dc2") is not None
