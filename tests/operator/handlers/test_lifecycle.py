"""The whole operator as a process against devstack's real control plane (apiserver,
controller-manager, scheduler, kwok), OpenBao and helm.

kwok runs no containers but marks Pods Running and Ready, so Deployments
become available as on a real node. k8ssandra-operator cannot run here: the
k8ssandra test sets the K8ssandraCluster's status as that operator would.
"""

from __future__ import annotations

import copy
import re
import signal
import urllib.request
from pathlib import Path

import hvac
import hvac.exceptions
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from productstore_auth.app.data.vault import VaultKeyStore
from productstore_operator.models import IMPLEMENTED_SERVICES
from tests.operator.auth_keys import create_and_rotate
from tests.operator.handlers.support import (
    Harness,
    Sandbox,
    deployments,
    devstack_spec,
    policies,
    read_secret,
    role_prefix,
    roles,
    sa_login,
    sa_token,
    wait_for,
)
from tests.operator.spec_cases import load_sample

K8SSANDRA = ("k8ssandra.io", "v1alpha1")
COMPONENTS = ("SecretsReady", "CassandraReady", "ServicesReady", "MeshConfigured", "Ready")


def test_devstack_store_converges_and_is_removed(h: Harness, tmp_path: Path) -> None:
    box, operator, openbao = h.box, h.operator, h.openbao
    box.apply_store("shop", devstack_spec(box, openbao))
    store = box.wait_ready("shop")

    status = store["status"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == dict.fromkeys(
        COMPONENTS, "True"
    )
    assert status["version"] == "0.1.0"
    # Only the services whose code exists run, and only they count for ServicesReady.
    assert status["services"] == {
        name: {"desiredReplicas": 2, "readyReplicas": 2} for name in IMPLEMENTED_SERVICES
    }
    found = deployments(box)
    assert set(found) == {f"shop-{name}" for name in IMPLEMENTED_SERVICES}
    for name in IMPLEMENTED_SERVICES:
        assert found[f"shop-{name}"].status.available_replicas == 2
    revisions = h.history()
    assert [(r["revision"], r["status"]) for r in revisions] == [(1, "deployed")]

    # Vault: one role and policy per service, generated secrets, each SA sees its own.
    prefix = role_prefix(box)
    names = sorted(prefix + s for s in IMPLEMENTED_SERVICES)
    assert sorted(roles(openbao, box)) == names
    assert sorted(policies(openbao, box)) == names
    # The exact names, recorded: what a later pass and the finalizer delete.
    # (Recorded in the services' order; which order does not matter.)
    recorded = status["vault"]
    assert {**recorded, "roles": sorted(recorded["roles"])} == {
        "name": "default",
        "authMount": box.auth_mount,
        "roles": names,
        "policies": recorded["policies"],
    }
    assert sorted(recorded["policies"]) == names
    base = f"{box.kv_path}/{box.namespace}/shop"
    catalog = sa_login(openbao, box, "shop-catalog", prefix + "catalog")
    credentials = read_secret(catalog, f"{base}/catalog/cassandra")
    assert set(credentials) == {"username", "password"}
    assert credentials["username"].endswith("_catalog")  # its keyspace, its role
    assert len(credentials["password"]) >= 32
    with pytest.raises(hvac.exceptions.Forbidden):
        # Its own Cassandra role only: never auth's, which reads the password hashes.
        read_secret(catalog, f"{base}/auth/cassandra")
    with pytest.raises(hvac.exceptions.Forbidden):
        # The catalog's token is not bound to auth's role.
        sa_login(openbao, box, "shop-catalog", prefix + "auth")

    # auth owns its signing keys: the environment the chart gave its Deployment, a
    # token of its ServiceAccount and the auth service's own key store create and
    # rotate them through the real OpenBao.
    env = client.CoreV1Api(box.api).read_namespaced_config_map("shop-auth", box.namespace).data
    assert env["AUTH_VAULT_ADDR"] == openbao.addr
    assert env["AUTH_VAULT_ROLE"] == prefix + "auth"
    assert env["AUTH_VAULT_KUBERNETES_MOUNT"] == box.auth_mount
    assert (env["AUTH_VAULT_KV_MOUNT"], env["AUTH_VAULT_KEYS_PATH"]) == (
        "secret",
        f"{base}/auth/signing-keys",
    )
    token_file = tmp_path / "token"
    token_file.write_text(sa_token(box, "shop-auth"))
    keys = create_and_rotate(
        VaultKeyStore(
            addr=env["AUTH_VAULT_ADDR"],
            mount=env["AUTH_VAULT_KV_MOUNT"],
            path=env["AUTH_VAULT_KEYS_PATH"],
            kubernetes_role=env["AUTH_VAULT_ROLE"],
            kubernetes_mount=env["AUTH_VAULT_KUBERNETES_MOUNT"],
            kubernetes_token_file=token_file,
        )
    )
    assert keys.published_kids == {keys.first_kid, keys.rotated_kid}
    assert keys.signing_kid_after_rotation == keys.first_kid  # activation delay
    assert keys.stored_version == 2
    # Nobody else reaches them, and auth reaches no other store's keys.
    with pytest.raises(hvac.exceptions.Forbidden):
        read_secret(catalog, f"{base}/auth/signing-keys")
    auth = sa_login(openbao, box, "shop-auth", prefix + "auth")
    for other in (f"{box.kv_path}/{box.namespace}/other", f"{box.kv_path}/other-ns/shop"):
        with pytest.raises(hvac.exceptions.Forbidden):
            auth.secrets.kv.v2.create_or_update_secret(
                path=f"{other}/auth/signing-keys", secret={}, cas=0, mount_point="secret"
            )

    with urllib.request.urlopen(
        f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=10
    ) as response:
        metrics = response.read().decode()
    # Every result's series exists from the start; a ready pass moved this one.
    ready = re.search(r'productstore_operator_reconciles_total\{result="ready"\} (\S+)', metrics)
    assert ready is not None and float(ready[1]) >= 1, metrics
    # A series per row of the step table: durations of the steps that ran, and
    # error counters that exist at zero before any step failed.
    for step in ("vault", "cassandra", "services", "mesh"):
        assert f'productstore_operator_step_duration_seconds_count{{step="{step}"}}' in metrics
        assert f'productstore_operator_reconcile_errors_total{{step="{step}"}} 0.0' in metrics
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
    for key in ("auth/cassandra", "catalog/cassandra", "auth/signing-keys"):
        with pytest.raises(hvac.exceptions.InvalidPath):
            read_secret(openbao.client(), f"{base}/{key}")


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
    apps.patch_namespaced_deployment_scale("shop-auth", box.namespace, {"spec": {"replicas": 5}})

    def repaired() -> bool | None:
        found = deployments(box)
        catalog, auth = found.get("shop-catalog"), found["shop-auth"]
        return True if catalog is not None and auth.spec.replicas == 3 else None

    wait_for("the drifted Deployments to be restored", repaired)
    revisions = wait_for(
        "the repair revision to be deployed",
        lambda: r if (r := h.history())[-1]["status"] == "deployed" else None,
    )
    assert revisions[-1]["revision"] == 3
    assert revisions[-1]["description"] == revisions[-2]["description"]  # same values
    box.wait_ready("shop", generation=2)
    box.wait_events("shop", {"Upgraded"})


def test_the_stores_gateway_is_deployed_and_awaited(h: Harness) -> None:
    """spec.gateway.enabled: the chart's gateway joins the release, its Service as the
    spec says, and the store is Ready only once the gateway's Deployment is."""
    box, openbao = h.box, h.openbao
    box.apply_store("shop", devstack_spec(box, openbao))
    box.wait_ready("shop")
    assert "shop-gateway" not in deployments(box)

    box.patch_spec("shop", {"gateway": {"enabled": True, "serviceType": "NodePort"}})
    store = box.wait_ready("shop", generation=2)
    gateway = deployments(box)["shop-gateway"]
    assert (gateway.status.ready_replicas or 0) >= 1, "Ready waited for the gateway"
    assert "gateway" not in store["status"]["services"], "a store's services only"
    service = client.CoreV1Api(box.api).read_namespaced_service("shop-gateway", box.namespace)
    assert service.spec.type == "NodePort"
    assert 30000 <= service.spec.ports[0].node_port <= 32767
    config = client.CoreV1Api(box.api).read_namespaced_config_map("shop-gateway", box.namespace)
    assert "location /api/auth/ {" in config.data["nginx.conf"]
    assert (
        f"server shop-catalog.{box.namespace}.svc.cluster.local:8000;"
        in (config.data["nginx.conf"])
    )


def test_neighbouring_stores_keep_their_vault_roles(h: Harness) -> None:
    """default/shop's passes and deletion used to delete every role starting with
    its prefix, shop-eu's included: now each store removes only what it recorded."""
    box, openbao = h.box, h.openbao
    for name in ("shop", "shop-eu"):
        spec = devstack_spec(box, openbao)
        spec["services"] = {s: {"replicas": 1} for s in IMPLEMENTED_SERVICES}
        box.apply_store(name, spec)
    for name in ("shop", "shop-eu"):
        box.wait_ready(name)
    theirs = sorted(role_prefix(box, "shop-eu") + s for s in IMPLEMENTED_SERVICES)

    # shop drops reviews (nothing calls it): its own reviews role and policy go, and
    # nothing of shop-eu's.
    box.patch_spec("shop", {"services": {"reviews": {"enabled": False}}})
    store = box.wait_ready("shop", generation=2)
    mine = sorted(role_prefix(box) + s for s in IMPLEMENTED_SERVICES if s != "reviews")
    assert sorted(store["status"]["vault"]["roles"]) == mine
    assert sorted(roles(openbao, box)) == sorted(mine + theirs)
    assert sorted(policies(openbao, box)) == sorted(mine + theirs)

    box.custom.delete_namespaced_custom_object(
        "productstore.io", "v1alpha1", box.namespace, "productstores", "shop"
    )
    wait_for("shop to be gone", lambda: True if box.store("shop") is None else None)
    assert sorted(roles(openbao, box)) == theirs
    assert sorted(policies(openbao, box)) == theirs
    assert (box.store("shop-eu") or {})["status"]["phase"] == "Ready"


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
    assert len(deployments(box)) == len(IMPLEMENTED_SERVICES)


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

    # deletionPolicy Retain (the default): the cluster, the credentials and auth's
    # signing keys (written here as auth would have) stay.
    base = f"{box.kv_path}/{box.namespace}/shop"
    openbao.client().secrets.kv.v2.create_or_update_secret(
        path=f"{base}/auth/signing-keys", secret={"format": 1, "keys": []}, mount_point="secret"
    )
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
    assert set(read_secret(openbao.client(), f"{base}/auth/cassandra")) == {
        "username",
        "password",
    }
    assert read_secret(openbao.client(), f"{base}/auth/signing-keys")["format"] == 1
    box.custom.delete_namespaced_custom_object(
        *K8SSANDRA, box.namespace, "k8ssandraclusters", "shop"
    )
    with pytest.raises(ApiException):
        box.custom.get_namespaced_custom_object(
            *K8SSANDRA, box.namespace, "k8ssandraclusters", "shop"
        )
