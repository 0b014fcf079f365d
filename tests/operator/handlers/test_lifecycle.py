"""The whole operator as a process against devstack's real control plane (apiserver,
controller-manager, scheduler, kwok), OpenBao and helm.

kwok runs no containers but marks Pods Running and Ready, so Deployments
become available as on a real node. k8ssandra-operator cannot run here: the
k8ssandra test sets the K8ssandraCluster's status as that operator would.
"""

from __future__ import annotations

import copy
import signal
import urllib.request

import hvac
import hvac.exceptions
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from productstore_operator.models import SERVICE_NAMES
from tests.operator.handlers.support import (
    Harness,
    Sandbox,
    deployments,
    devstack_spec,
    policies,
    read_secret,
    roles,
    sa_login,
    wait_for,
)
from tests.operator.spec_cases import load_sample

K8SSANDRA = ("k8ssandra.io", "v1alpha1")
COMPONENTS = ("SecretsReady", "CassandraReady", "ServicesReady", "MeshConfigured", "Ready")


def test_devstack_store_converges_and_is_removed(h: Harness) -> None:
    box, operator, openbao = h.box, h.operator, h.openbao
    box.apply_store("shop", devstack_spec(box, openbao))
    store = box.wait_ready("shop")

    status = store["status"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == dict.fromkeys(
        COMPONENTS, "True"
    )
    assert status["version"] == "0.1.0"
    assert status["services"] == {
        name: {"desiredReplicas": 2, "readyReplicas": 2} for name in SERVICE_NAMES
    }
    found = deployments(box)
    for name in SERVICE_NAMES:
        assert found[f"shop-{name}"].status.available_replicas == 2
    revisions = h.history()
    assert [(r["revision"], r["status"]) for r in revisions] == [(1, "deployed")]

    # Vault: one role and policy per service, generated secrets, each SA sees its own.
    prefix = f"{box.role_prefix}-{box.namespace}-shop-"
    assert sorted(roles(openbao, box)) == sorted(prefix + s for s in SERVICE_NAMES)
    assert sorted(policies(openbao, box)) == sorted(prefix + s for s in SERVICE_NAMES)
    base = f"{box.kv_path}/{box.namespace}/shop"
    catalog = sa_login(openbao, box, "shop-catalog", prefix + "catalog")
    credentials = read_secret(catalog, f"{base}/cassandra")
    assert set(credentials) == {"username", "password"}
    assert len(credentials["password"]) >= 32
    with pytest.raises(hvac.exceptions.Forbidden):
        read_secret(catalog, f"{base}/auth/jwt")
    auth = sa_login(openbao, box, "shop-auth", prefix + "auth")
    assert read_secret(auth, f"{base}/auth/jwt")["format"] == 1
    with pytest.raises(hvac.exceptions.Forbidden):
        # The catalog's token is not bound to auth's role.
        sa_login(openbao, box, "shop-catalog", prefix + "auth")

    with urllib.request.urlopen(
        f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=10
    ) as response:
        metrics = response.read().decode()
    assert 'productstore_operator_reconciles_total{result="ready"}' in metrics
    assert (
        'productstore_operator_helm_operations_total{operation="upgrade",result="success"} 1.0'
        in metrics
    )
    with urllib.request.urlopen(
        f"http://127.0.0.1:{operator.health_port}/healthz", timeout=10
    ) as response:
        assert response.status == 200

    # deletionPolicy Delete: the release, roles, policies and secrets go with the store.
    box.custom.delete_namespaced_custom_object(
        "productstore.io", "v1alpha1", box.namespace, "productstores", "shop"
    )
    wait_for("the store to be gone", lambda: True if box.store("shop") is None else None)
    assert h.history() == []
    assert roles(openbao, box) == []
    assert policies(openbao, box) == []
    with pytest.raises(hvac.exceptions.InvalidPath):
        read_secret(openbao.client(), f"{base}/cassandra")


def test_spec_change_upgrades_and_drift_is_repaired(h: Harness) -> None:
    box, openbao = h.box, h.openbao
    box.apply_store("shop", devstack_spec(box, openbao))
    box.wait_ready("shop")

    box.patch_spec("shop", {"version": "0.2.0", "services": {"auth": {"replicas": 3}}})
    store = box.wait_ready("shop", generation=2)
    assert store["status"]["version"] == "0.2.0"
    assert store["status"]["services"]["auth"] == {"desiredReplicas": 3, "readyReplicas": 3}
    auth = deployments(box)["shop-auth"]
    assert auth.spec.replicas == 3
    assert auth.spec.template.spec.containers[0].image.endswith(":0.2.0")
    revisions = h.history()
    assert [(r["revision"], r["status"]) for r in revisions] == [
        (1, "superseded"),
        (2, "deployed"),
    ]

    # A deleted Deployment and a hand-scaled one come back on the next timer pass.
    apps = client.AppsV1Api(box.api)
    apps.delete_namespaced_deployment("shop-catalog", box.namespace)
    apps.patch_namespaced_deployment_scale("shop-orders", box.namespace, {"spec": {"replicas": 5}})

    def repaired() -> bool | None:
        found = deployments(box)
        catalog, orders = found.get("shop-catalog"), found["shop-orders"]
        return True if catalog is not None and orders.spec.replicas == 2 else None

    wait_for("the drifted Deployments to be restored", repaired)
    revisions = wait_for(
        "the repair revision to be deployed",
        lambda: r if (r := h.history())[-1]["status"] == "deployed" else None,
    )
    assert revisions[-1]["revision"] == 3
    assert revisions[-1]["description"] == revisions[-2]["description"]  # same values
    box.wait_ready("shop", generation=2)
    reasons = {e.reason for e in box.events("shop")}
    assert "Upgraded" in reasons


def test_restart_mid_reconcile_converges_without_duplicates(h: Harness) -> None:
    box, operator, openbao = h.box, h.operator, h.openbao
    box.apply_store("shop", devstack_spec(box, openbao))

    # Kill the operator once it has installed the release, while the
    # Deployments are still rolling out (or right after).
    wait_for(
        "the first install",
        lambda: True if h.history() else None,
    )
    operator.stop(signal.SIGKILL)
    operator.start()
    box.wait_ready("shop")
    # Several timer passes later there is still one release with one revision.
    first = h.history()
    wait_for(
        "two timer passes after Ready",
        lambda: True if operator.logs().count("Timer 'resync' succeeded") >= 2 else None,
    )
    assert [(r["revision"], r["status"]) for r in h.history()] == [(1, "deployed")]
    assert first[0]["description"].startswith("productstore.io/hash=")
    assert len(deployments(box)) == len(SERVICE_NAMES)


def _set_cassandra_ready(box: Sandbox, name: str, datacenter: str) -> None:
    """What k8ssandra-operator v1.21 writes once the datacenter is up."""
    now = "2026-01-01T00:00:00Z"
    status = {
        "conditions": [
            {"type": "CassandraInitialized", "status": "True", "lastTransitionTime": now}
        ],
        "datacenters": {
            datacenter: {
                "cassandra": {
                    "cassandraOperatorProgress": "Ready",
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "",
                            "message": "",
                            "lastTransitionTime": now,
                        }
                    ],
                }
            }
        },
    }
    box.custom.patch_namespaced_custom_object_status(
        *K8SSANDRA, box.namespace, "k8ssandraclusters", name, {"status": status}
    )


def test_k8ssandra_store_waits_for_cassandra_and_retains_it(h: Harness) -> None:
    box, operator, openbao = h.box, h.operator, h.openbao
    spec = copy.deepcopy(load_sample("productstore-minimal")["spec"])
    spec["vault"] = box.vault_spec(openbao.addr)
    spec["cassandra"] = {"k8ssandra": {"datacenter": {"name": "dc1", "size": 1}}}
    box.apply_store("shop", spec)

    waiting = wait_for(
        "CassandraReady False while the K8ssandraCluster provisions",
        lambda: (
            c if (c := box.condition("shop", "CassandraReady")) and c["status"] == "False" else None
        ),
    )
    assert waiting["reason"] == "CassandraProvisioning"
    cluster = box.custom.get_namespaced_custom_object(
        *K8SSANDRA, box.namespace, "k8ssandraclusters", "shop"
    )
    store_uid = (box.store("shop") or {})["metadata"]["uid"]
    assert [r["uid"] for r in cluster["metadata"]["ownerReferences"]] == [store_uid]
    assert cluster["spec"]["cassandra"]["datacenters"][0]["size"] == 1
    # Two more passes (resync 5 s): still no services before Cassandra is ready.
    wait_for(
        "two timer passes",
        lambda: True if operator.logs().count("Timer 'resync' succeeded") >= 2 else None,
    )
    assert deployments(box) == {}
    assert h.history() == []

    _set_cassandra_ready(box, "shop", "dc1")
    store = box.wait_ready("shop")
    assert store["status"]["services"]["auth"]["readyReplicas"] == 2

    # deletionPolicy Retain (the default): the cluster and the credentials stay.
    box.custom.delete_namespaced_custom_object(
        "productstore.io", "v1alpha1", box.namespace, "productstores", "shop"
    )
    wait_for("the store to be gone", lambda: True if box.store("shop") is None else None)
    kept = box.custom.get_namespaced_custom_object(
        *K8SSANDRA, box.namespace, "k8ssandraclusters", "shop"
    )
    assert not kept["metadata"].get("ownerReferences")
    assert h.history() == []
    assert roles(openbao, box) == []
    base = f"{box.kv_path}/{box.namespace}/shop"
    assert set(read_secret(openbao.client(), f"{base}/cassandra")) == {"username", "password"}
    box.custom.delete_namespaced_custom_object(
        *K8SSANDRA, box.namespace, "k8ssandraclusters", "shop"
    )
    with pytest.raises(ApiException):
        box.custom.get_namespaced_custom_object(
            *K8SSANDRA, box.namespace, "k8ssandraclusters", "shop"
        )
