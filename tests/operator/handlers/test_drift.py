"""Drift by hash against devstack's real control plane: any field the chart renders,
edited in the cluster, is found and put back, and nothing else is.

The operator is stopped while the objects are edited, so its next start
(kopf's resume, the same pass the timer runs) sees all edits in one pass.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from tests.operator.handlers.support import Harness, devstack_spec, wait_for

ISTIO_SECURITY = ("security.istio.io", "v1")


def _policy(h: Harness, name: str) -> dict[str, Any]:
    found: dict[str, Any] = h.box.custom.get_namespaced_custom_object(
        *ISTIO_SECURITY, h.box.namespace, "authorizationpolicies", name
    )
    return found


def test_edited_configmap_service_and_policy_are_detected_and_repaired(h: Harness) -> None:
    box, operator = h.box, h.operator
    box.apply_store("shop", devstack_spec(box, h.openbao))
    box.wait_ready("shop")
    # Timer passes over the converged store: the live objects hash as rendered.
    wait_for(
        "two timer passes after Ready",
        lambda: True if operator.logs().count("Timer 'resync' succeeded") >= 2 else None,
    )
    assert [(r["revision"], r["status"]) for r in h.history()] == [(1, "deployed")]
    assert not {"DriftRepaired", "DriftNotRepaired"} & {e.reason for e in box.events("shop")}

    core = client.CoreV1Api(box.api)
    ns = box.namespace
    config = core.read_namespaced_config_map("shop-auth", ns).data
    service = core.read_namespaced_service("shop-catalog", ns).spec
    rules = _policy(h, "shop-catalog")["spec"]["rules"]

    operator.stop()
    # A rendered value changed and a key added by hand (the chart does not speak of it).
    core.patch_namespaced_config_map(
        "shop-auth", ns, {"data": {"LOG_LEVEL": "TRACE", "ADDED_BY_HAND": "kept"}}
    )
    core.patch_namespaced_service(
        "shop-catalog",
        ns,
        [{"op": "replace", "path": "/spec/ports/0/targetPort", "value": 9999}],
    )
    # Anyone may call the catalog: a custom resource, which helm's upgrade never restores.
    box.custom.patch_namespaced_custom_object(
        *ISTIO_SECURITY,
        ns,
        "authorizationpolicies",
        "shop-catalog",
        {"spec": {"rules": [{"from": [{"source": {"principals": ["*"]}}]}]}},
    )
    operator.start()

    def repaired() -> bool | None:
        data = core.read_namespaced_config_map("shop-auth", ns).data
        port = core.read_namespaced_service("shop-catalog", ns).spec.ports[0].target_port
        policy = _policy(h, "shop-catalog")["spec"]["rules"]
        done = data["LOG_LEVEL"] == config["LOG_LEVEL"] and port == service.ports[0].target_port
        return True if done and policy == rules else None

    wait_for("the edited objects to be restored", repaired)
    box.wait_ready("shop")
    # One repair revision with the same values; the policy was patched, not upgraded.
    revisions = h.history()
    assert [(r["revision"], r["status"]) for r in revisions] == [
        (1, "superseded"),
        (2, "deployed"),
    ]
    assert revisions[1]["description"] == revisions[0]["description"]
    events = box.wait_events("shop", {"Upgraded", "DriftRepaired"})
    (repair,) = [e.message for e in events if e.reason == "Upgraded" and "repairing" in e.message]
    assert "ConfigMap/shop-auth data.LOG_LEVEL" in repair
    assert "Service/shop-catalog spec.ports[0].targetPort" in repair
    assert "AuthorizationPolicy" not in repair
    (restored,) = [e.message for e in events if e.reason == "DriftRepaired"]
    assert "AuthorizationPolicy/shop-catalog spec.rules" in restored
    assert "DriftNotRepaired" not in {e.reason for e in events}
    # helm's three-way merge leaves a key it never rendered, and so does the check.
    assert core.read_namespaced_config_map("shop-auth", ns).data["ADDED_BY_HAND"] == "kept"

    # Repaired for good: more timer passes, no more revisions.
    passes = operator.logs().count("Timer 'resync' succeeded")
    wait_for(
        "two more timer passes",
        lambda: True if operator.logs().count("Timer 'resync' succeeded") >= passes + 2 else None,
    )
    assert len(h.history()) == 2


def test_drift_a_repair_cannot_move_is_reported_once_not_upgraded_again(h: Harness) -> None:
    box, operator = h.box, h.operator
    box.apply_store("shop", devstack_spec(box, h.openbao))
    box.wait_ready("shop")
    operator.stop()
    # A container port renumbered and renamed: helm's three-way merge keys ports by
    # number, so it adds the rendered one back and keeps this one. Two ports, one
    # rendered: the Deployment differs from the release after every upgrade.
    client.AppsV1Api(box.api).patch_namespaced_deployment(
        "shop-catalog",
        box.namespace,
        [
            {
                "op": "replace",
                "path": "/spec/template/spec/containers/0/ports/0",
                "value": {"containerPort": 8999, "name": "by-hand", "protocol": "TCP"},
            }
        ],
    )
    operator.start()

    def reported() -> str | None:
        found = [e.message for e in box.events("shop") if e.reason == "DriftNotRepaired"]
        return found[0] if found else None

    message = wait_for("the DriftNotRepaired warning", reported)
    assert "Deployment/shop-catalog spec.template.spec.containers[0].ports" in message
    ports = client.AppsV1Api(box.api).read_namespaced_deployment("shop-catalog", box.namespace)
    numbers = sorted(p.container_port for p in ports.spec.template.spec.containers[0].ports)
    assert numbers[-1] == 8999 and len(numbers) == 2  # the rendered port is back beside it
    # One repair upgrade, then no more: timer passes leave the release alone.
    passes = operator.logs().count("Timer 'resync' succeeded")
    wait_for(
        "three more timer passes",
        lambda: True if operator.logs().count("Timer 'resync' succeeded") >= passes + 3 else None,
    )
    assert [(r["revision"], r["status"]) for r in h.history()] == [
        (1, "superseded"),
        (2, "deployed"),
    ]
    assert len([e for e in box.events("shop") if e.reason == "DriftNotRepaired"]) == 1
    box.wait_ready("shop")
