"""The whole operator as a process against devstack's real control plane (apiserver,
controller-manager, scheduler, kwok), OpenBao and helm.

kwok runs no containers but marks Pods Running and Ready, so Deployments
become available as on a real node.

What goes wrong: a spec beyond the schema, an unreachable Vault, a failed
upgrade; each ends in a condition that says what happened and what to do.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from kubernetes import client

from productstore_operator.models import IMPLEMENTED_SERVICES
from tests.operator.handlers.support import (
    CHART,
    Harness,
    deployments,
    devstack_spec,
    policies,
    roles,
    wait_for,
)


def test_invalid_spec_applies_nothing_and_says_what_to_change(h: Harness) -> None:
    box, openbao = h.box, h.openbao
    spec = devstack_spec(box, openbao)
    # Valid for the schema, but catalog calls auth (callgraph.py).
    spec["services"] = {"auth": {"enabled": False}}
    box.apply_store("shop", spec)

    ready = wait_for(
        "Ready False with reason InvalidSpec",
        lambda: (
            c if (c := box.condition("shop", "Ready")) and c["reason"] == "InvalidSpec" else None
        ),
    )
    assert ready["status"] == "False"
    assert "catalog calls auth" in ready["message"]
    assert "enable auth or disable catalog" in ready["message"]
    assert (box.store("shop") or {})["status"]["phase"] == "Failed"
    warnings = [e for e in box.wait_events("shop", {"InvalidSpec"}) if e.reason == "InvalidSpec"]
    assert warnings and warnings[0].type == "Warning"
    # Nothing half-applied: no release, no Vault roles, policies or secrets.
    assert h.history() == []
    assert roles(openbao, box) == []
    assert policies(openbao, box) == []
    assert deployments(box) == {}

    # Fixing the spec is all it takes.
    box.patch_spec("shop", {"services": {"auth": {"enabled": True}}})
    store = box.wait_ready("shop", generation=2)
    assert set(store["status"]["services"]) == set(IMPLEMENTED_SERVICES)


def test_an_image_registry_the_operator_does_not_allow_deploys_nothing(h: Harness) -> None:
    """Whoever writes the store does not choose what runs under its accounts: the
    operator's --allowed-registry (here its default, the project's registry) does."""
    box, openbao = h.box, h.openbao
    spec = devstack_spec(box, openbao)
    spec["image"] = {"registry": "registry.evil.example/miner"}
    box.apply_store("shop", spec)

    ready = wait_for(
        "Ready False with reason InvalidSpec",
        lambda: (
            c if (c := box.condition("shop", "Ready")) and c["reason"] == "InvalidSpec" else None
        ),
    )
    assert "spec.image.registry 'registry.evil.example/miner' is not allowed" in ready["message"]
    assert "deploys images only from ghcr.io/productstore" in ready["message"]
    assert (box.store("shop") or {})["status"]["phase"] == "Failed"
    assert h.history() == []
    assert roles(openbao, box) == []
    assert deployments(box) == {}

    box.patch_spec("shop", {"image": {"registry": "ghcr.io/productstore"}})
    box.wait_ready("shop", generation=2)


def test_a_vault_the_operator_does_not_know_is_refused_unasked(h: Harness) -> None:
    box = h.box
    spec = devstack_spec(box, h.openbao)
    spec["vault"] = {"name": "attacker"}
    box.apply_store("shop", spec)

    ready = wait_for(
        "Ready False with reason InvalidSpec",
        lambda: (
            c if (c := box.condition("shop", "Ready")) and c["reason"] == "InvalidSpec" else None
        ),
    )
    assert (
        "spec.vault.name 'attacker' is not a Vault the operator is configured with: "
        "the Vaults it knows are 'default', 'down'"
    ) in ready["message"]
    # Refused before any step: no Vault was asked, nothing was written.
    assert box.condition("shop", "SecretsReady") is None
    assert roles(h.openbao, box) == []
    assert h.history() == []


def test_unreachable_vault_is_a_retry_not_an_invalid_spec(h: Harness) -> None:
    box = h.box
    spec = devstack_spec(box, h.openbao)
    # The operator's Vault "down": the discard port on loopback, nothing answers.
    spec["vault"] = {"name": "down"}
    box.apply_store("shop", spec)

    secrets = wait_for(
        "SecretsReady False",
        lambda: (
            c if (c := box.condition("shop", "SecretsReady")) and c["status"] == "False" else None
        ),
    )
    assert secrets["reason"] == "VaultUnavailable"
    assert secrets["message"].startswith("Vault 'down' is unreachable (ConnectionError)")
    store = box.store("shop") or {}
    assert store["status"]["phase"] == "Reconciling"
    assert box.condition("shop", "ServicesReady") is None  # later steps wait
    assert h.history() == []


def test_failed_upgrade_is_rolled_back_and_reported(h: Harness) -> None:
    box, openbao = h.box, h.openbao
    spec = devstack_spec(box, openbao)
    # orders, wishlist and notifications call the catalog: they are off while it is.
    spec["services"] = {
        "catalog": {"enabled": False},
        "orders": {"enabled": False},
        "wishlist": {"enabled": False},
        "notifications": {"enabled": False},
    }
    box.apply_store("shop", spec)
    box.wait_ready("shop")
    # A quota that fits the one running service (auth), not a second: the
    # apiserver refuses the new Deployment halfway through the upgrade.
    core = client.CoreV1Api(box.api)
    core.create_namespaced_resource_quota(
        box.namespace,
        client.V1ResourceQuota(
            metadata=client.V1ObjectMeta(name="one-deployment"),
            spec=client.V1ResourceQuotaSpec(hard={"count/deployments.apps": "1"}),
        ),
    )
    wait_for(
        "the quota to count the Deployments",
        lambda: (
            True
            if (core.read_namespaced_resource_quota("one-deployment", box.namespace).status.used)
            else None
        ),
    )
    box.patch_spec("shop", {"services": {"catalog": {"enabled": True}}})

    failed = wait_for(
        "ServicesReady False after the failed upgrade",
        lambda: (
            c
            if (c := box.condition("shop", "ServicesReady")) and c["reason"] == "UpgradeFailed"
            else None
        ),
    )
    assert "exceeded quota" in failed["message"]
    assert "rolled back to revision 1" in failed["message"]
    assert [r["status"] for r in h.history()] == ["superseded", "failed", "deployed"]
    box.wait_events("shop", {"UpgradeFailed", "RolledBack"})
    assert "shop-catalog" not in deployments(box)
    assert (box.store("shop") or {})["status"]["phase"] != "Ready"

    # With room again, the next spec change goes through.
    core.delete_namespaced_resource_quota("one-deployment", box.namespace)
    box.patch_spec("shop", {"services": {"catalog": {"replicas": 1}}})
    store = box.wait_ready("shop", generation=3)
    assert store["status"]["services"]["catalog"] == {"desiredReplicas": 1, "readyReplicas": 1}


def test_a_release_left_pending_by_a_dead_helm_is_repaired(h: Harness, tmp_path: Path) -> None:
    box = h.box
    # A helm that dies mid-install (killed while it waits for a Pod that can never
    # be scheduled) leaves the release pending-install, which blocks every upgrade.
    values = tmp_path / "unschedulable.yaml"
    values.write_text(
        json.dumps(
            {
                "fullnameOverride": "shop",
                "services": {
                    "auth": {
                        "resources": {
                            "requests": {"cpu": "100000"},
                            "limits": {"cpu": "100000"},
                        }
                    }
                },
            }
        )
    )
    stuck = subprocess.Popen(
        [str(h.helm.binary), "upgrade", "--install", "shop", str(CHART),
         "--namespace", box.namespace, "--values", str(values), "--wait", "--timeout", "5m",
         "--kubeconfig", str(h.kube.kubeconfig)],
        env=h.operator.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(
            "helm to record the release as pending-install",
            lambda: True if [r["status"] for r in h.history()] == ["pending-install"] else None,
        )
    finally:
        stuck.kill()
        stuck.wait(timeout=30)

    # A pending release younger than the stale age (600 s by default) may still be
    # running: reported, left alone.
    box.apply_store("shop", devstack_spec(box, h.openbao))
    pending = wait_for(
        "ServicesReady False while the pending release may still be running",
        lambda: (
            c
            if (c := box.condition("shop", "ServicesReady")) and c["reason"] == "ReleasePending"
            else None
        ),
    )
    assert "pending-install" in pending["message"]
    assert [r["status"] for r in h.history()] == ["pending-install"]

    # Older than the stale age, it is taken as abandoned and repaired. (One operator
    # with a short age throughout raced a busy machine: the first reconcile could come
    # after the release was already stale, and the pending state was never seen.)
    h.operator.stop()
    h.operator.env["PRODUCTSTORE_OPERATOR_STALE_RELEASE_SECONDS"] = "5"
    h.operator.start()
    store = box.wait_ready("shop")
    assert store["status"]["services"]["auth"] == {"desiredReplicas": 2, "readyReplicas": 2}
    assert [(r["revision"], r["status"]) for r in h.history()] == [(1, "deployed")]
    box.wait_events("shop", {"ReleaseRepaired"})


def test_a_rollout_that_makes_no_progress_is_rolled_back(h: Harness) -> None:
    """An upgrade helm applies but whose new Pods never get ready: here they can
    never be scheduled (a nodeSelector no node matches), which kwok shows as on a
    real node. The Deployment controller marks the rollout failed after its
    progress deadline; the operator rolls the release back to the revision that
    rolled out, says why, and leaves the old Pods serving throughout."""
    box, openbao = h.box, h.openbao
    spec = devstack_spec(box, openbao)
    spec["services"] = {
        service: {"enabled": False} for service in IMPLEMENTED_SERVICES if service != "auth"
    }
    spec["services"]["auth"] = {"rollout": {"progressDeadlineSeconds": 10}}
    box.apply_store("shop", spec)
    box.wait_ready("shop")
    apps = client.AppsV1Api(box.api)
    before = apps.read_namespaced_deployment("shop-auth", box.namespace)
    assert before.spec.progress_deadline_seconds == 10

    box.patch_spec(
        "shop", {"scheduling": {"nodeSelector": {"productstore.io/test-no-such-node": "x"}}}
    )
    failed = wait_for(
        "ServicesReady False after the rollout made no progress",
        lambda: (
            c
            if (c := box.condition("shop", "ServicesReady")) and c["reason"] == "RolloutFailed"
            else None
        ),
    )
    assert (
        "(revision 2) failed: auth made no progress in 10s (ProgressDeadlineExceeded)"
        in (failed["message"])
    )
    assert "Unschedulable: 0/" in failed["message"]  # the scheduler's own words
    assert "rolled back to revision 1" in failed["message"]
    assert [r["status"] for r in h.history()] == ["superseded", "superseded", "deployed"]
    box.wait_events("shop", {"RolloutFailed", "RolledBack"})
    # The old Pods never stopped: maxUnavailable 0 kept both while the new ones waited.
    after = apps.read_namespaced_deployment("shop-auth", box.namespace)
    assert after.spec.template.spec.node_selector is None
    assert (after.status.ready_replicas or 0) == 2
    assert (box.store("shop") or {})["status"]["phase"] != "Ready"

    # The failed spec is not tried again; taking the selector out is a new spec.
    box.patch_spec("shop", {"scheduling": {"nodeSelector": None}})
    store = box.wait_ready("shop", generation=3)
    assert store["status"]["services"]["auth"] == {"desiredReplicas": 2, "readyReplicas": 2}
