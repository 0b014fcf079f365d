"""The pass's inventory as a table: the deployed revision, a pending one, and which
rendered objects are missing or drifted among the live ones."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from productstore_operator.io import Revision
from productstore_operator.reconcile.inventory import Inventory, deployment_state, pod_trouble
from productstore_operator.reconcile.manifest import parse_manifest

MANIFEST = """
apiVersion: v1
kind: ConfigMap
metadata: {name: shop-auth, namespace: ns}
data: {AUTH_LOG_LEVEL: INFO}
---
apiVersion: v1
kind: Service
metadata: {name: shop-auth, namespace: ns}
spec:
  ports: [{name: http, port: 8000, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop-auth, namespace: ns}
spec: {replicas: 2}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: shop, namespace: ns}
spec: {mtls: {mode: STRICT}}
"""
RENDERED = tuple(parse_manifest(MANIFEST, "ns"))


def revision(number: int, status: str) -> Revision:
    return Revision(number, status, "productstore-0.1.0", "productstore.io/hash=h", None)


def live(**changes: Any) -> dict[tuple[str, str, str, str], dict[str, dict[str, Any]]]:
    """The rendered objects as served, with ``changes`` (kind -> object, None: deleted)."""
    found: dict[tuple[str, str, str, str], dict[str, dict[str, Any]]] = {}
    for item in RENDERED:
        body = copy.deepcopy(item.body)
        body["metadata"]["uid"] = f"uid-{item.ref.name}"
        if item.ref.kind in changes:
            body = changes[item.ref.kind]
        if body is not None:
            found.setdefault(item.ref.resource, {})[item.ref.name] = body
    return found


def edited(kind: str, path: list[str], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(next(item.body for item in RENDERED if item.ref.kind == kind))
    node = body
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("objects", "drift"),
    [
        (live(), []),
        (live(ConfigMap=None), ["ConfigMap/shop-auth"]),
        (
            live(ConfigMap=edited("ConfigMap", ["data", "AUTH_LOG_LEVEL"], "DEBUG")),
            ["ConfigMap/shop-auth data.AUTH_LOG_LEVEL"],
        ),
        (
            live(Service=edited("Service", ["spec", "ports"], [{"name": "http", "port": 1}])),
            ["Service/shop-auth spec.ports[0].port"],
        ),
        (
            live(
                Deployment=edited("Deployment", ["spec", "replicas"], 5),
                PeerAuthentication=None,
            ),
            ["Deployment/shop-auth spec.replicas", "PeerAuthentication/shop"],
        ),
    ],
    ids=["converged", "deleted", "configmap-edited", "service-edited", "two-at-once"],
)
def test_drift_names_missing_and_edited_objects(
    objects: dict[tuple[str, str, str, str], dict[str, dict[str, Any]]], drift: list[str]
) -> None:
    inventory = Inventory((revision(1, "deployed"),), RENDERED, objects, "ns")
    assert sorted(str(d) for d in inventory.drift()) == drift
    istio = tuple(item for item in RENDERED if item.ref.group.endswith("istio.io"))
    assert [str(d) for d in inventory.drift(istio)] == [d for d in drift if "Peer" in d]


@pytest.mark.parametrize(
    ("history", "deployed", "pending"),
    [
        ((), None, None),
        ((revision(1, "deployed"),), 1, None),
        ((revision(1, "superseded"), revision(2, "deployed"), revision(3, "failed")), 2, None),
        ((revision(1, "deployed"), revision(2, "pending-upgrade")), 1, 2),
        ((revision(1, "pending-install"),), None, 1),
    ],
    ids=["none", "one", "failed-last", "pending-upgrade", "pending-install"],
)
def test_deployed_and_pending_revisions(
    history: tuple[Revision, ...], deployed: int | None, pending: int | None
) -> None:
    inventory = Inventory(history, (), {}, "ns")
    assert (inventory.deployed.revision if inventory.deployed else None) == deployed
    assert (inventory.pending.revision if inventory.pending else None) == pending


def test_deployments_are_the_live_ones_by_name() -> None:
    inventory = Inventory((revision(1, "deployed"),), RENDERED, live(), "ns")
    assert list(inventory.deployments) == ["shop-auth"]
    assert Inventory((), (), {}, "ns").deployments == {}


@pytest.mark.parametrize(
    ("status", "generation", "rolled_out"),
    [
        ({"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2, "availableReplicas": 2,
          "observedGeneration": 3}, 3, True),
        ({"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2, "availableReplicas": 2,
          "observedGeneration": 2}, 3, False),
        ({"replicas": 3, "readyReplicas": 3, "updatedReplicas": 2, "availableReplicas": 3,
          "observedGeneration": 3}, 3, False),
        ({}, 1, False),
    ],
    ids=["rolled-out", "not-observed", "old-pod-left", "nothing-yet"],
)  # fmt: skip
def test_deployment_state(status: dict[str, Any], generation: int, rolled_out: bool) -> None:
    deployment = {"metadata": {"generation": generation}, "spec": {"replicas": 2}, "status": status}
    state = deployment_state(deployment)
    assert (state.desired, state.rolled_out) == (2, rolled_out)


def _progressing(status: str, reason: str) -> dict[str, Any]:
    return {"type": "Progressing", "status": status, "reason": reason}


@pytest.mark.parametrize(
    ("conditions", "observed", "failed"),
    [
        ([_progressing("False", "ProgressDeadlineExceeded")], 3, True),
        # The controller has not seen the newest template (a rollback): not its verdict.
        ([_progressing("False", "ProgressDeadlineExceeded")], 2, False),
        ([_progressing("True", "ReplicaSetUpdated")], 3, False),
        ([_progressing("True", "NewReplicaSetAvailable")], 3, False),
        ([{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}], 3,
         False),
    ],
    ids=["deadline-exceeded", "not-observed", "progressing", "complete", "unavailable-only"],
)  # fmt: skip
def test_deployment_state_failed_only_on_the_progress_deadline(
    conditions: list[dict[str, Any]], observed: int, failed: bool
) -> None:
    deployment = {
        "metadata": {"generation": 3},
        "spec": {"replicas": 2},
        "status": {
            "replicas": 3, "readyReplicas": 2, "updatedReplicas": 1, "availableReplicas": 2,
            "observedGeneration": observed, "conditions": conditions,
        },
    }  # fmt: skip
    state = deployment_state(deployment)
    assert state.failed is failed
    assert not state.rolled_out


def _pod(ready: bool, **container: Any) -> dict[str, Any]:
    return {
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "catalog", "ready": ready, **container}],
        }
    }


@pytest.mark.parametrize(
    ("pod", "trouble"),
    [
        (_pod(True, state={"running": {}}), None),
        (
            _pod(False, state={"waiting": {"reason": "ErrImageNeverPull", "message":
                "Container image \"localhost/x:9\" is not present with pull policy of Never"}}),
            'container catalog ErrImageNeverPull: Container image "localhost/x:9" is not '
            "present with pull policy of Never",
        ),
        (_pod(False, state={"waiting": {"reason": "ImagePullBackOff"}}),
         "container catalog ImagePullBackOff"),
        (
            _pod(False, state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                 lastState={"terminated": {"reason": "Error", "exitCode": 3}}),
            "container catalog CrashLoopBackOff: back-off",
        ),
        (_pod(False, state={"running": {}}, lastState={"terminated": {"reason": "OOMKilled",
                                                                      "exitCode": 137}}),
         "container catalog last exited OOMKilled (exit code 137)"),
        (_pod(False, state={"running": {}}),
         "container catalog runs but is not ready (readiness probe)"),
        ({"status": {"phase": "Pending"}}, "Pending"),
        (
            {"status": {"phase": "Pending", "conditions": [{"type": "PodScheduled",
                "status": "False", "reason": "Unschedulable", "message": "0/2 nodes are "
                "available: 2 node(s) didn't match Pod's node affinity/selector."}]}},
            "Unschedulable: 0/2 nodes are available: 2 node(s) didn't match Pod's node "
            "affinity/selector.",
        ),
    ],
    ids=["ready", "never-pull", "pull-backoff", "crash-loop", "oom", "unready", "pending",
         "unschedulable"],
)  # fmt: skip
def test_pod_trouble_names_why_a_pod_is_not_ready(pod: dict[str, Any], trouble: str | None) -> None:
    assert pod_trouble(pod) == trouble


def test_pod_trouble_reads_init_containers_first() -> None:
    pod = _pod(False, state={"waiting": {"reason": "PodInitializing"}})
    pod["status"]["initContainerStatuses"] = [
        {"name": "vault-agent-init", "state": {"waiting": {"reason": "ErrImageNeverPull"}}}
    ]
    assert pod_trouble(pod) == "container vault-agent-init ErrImageNeverPull"
