"""Drift by hash: a rendered object against the same fields of the live one, as tables.

The live objects are what devstack's kube-apiserver answers for the rendered
ones (defaults, helm's ownership metadata, controllers' status); the
handlers tests check the same against the real server.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from productstore_operator.reconcile.drift import first_difference, live_hash, rendered_hash

CONFIG_MAP: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {
        "name": "shop-auth",
        "namespace": "ns",
        "labels": {"app.kubernetes.io/instance": "shop", "app.kubernetes.io/managed-by": "Helm"},
    },
    "data": {"AUTH_LOG_LEVEL": "INFO", "AUTH_PORT": "8000"},
}
SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "shop-auth", "namespace": "ns", "labels": {"a": "b"}},
    "spec": {
        "type": "ClusterIP",
        "selector": {"app.kubernetes.io/name": "auth"},
        "ports": [
            {"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP",
             "appProtocol": "http"},
        ],
    },
}  # fmt: skip
DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "shop-auth", "namespace": "ns", "annotations": {}},
    "spec": {
        "replicas": 2,
        "template": {
            "metadata": {"annotations": {"checksum/config": "abc"}},
            "spec": {
                "containers": [
                    {
                        "name": "auth",
                        "image": "registry/auth:0.1.0",
                        "resources": {"requests": {"cpu": 1, "memory": "192Mi"}, "limits": None},
                        "env": [],
                    }
                ]
            },
        },
    },
}
POLICY: dict[str, Any] = {
    "apiVersion": "security.istio.io/v1",
    "kind": "AuthorizationPolicy",
    "metadata": {"name": "shop-catalog", "namespace": "ns"},
    "spec": {
        "action": "ALLOW",
        "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/ns/sa/shop-orders"]}}]}],
    },
}


def edited(document: dict[str, Any], change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def served(document: dict[str, Any]) -> dict[str, Any]:
    """What the apiserver's list answers for ``document`` once helm applied it."""
    live = copy.deepcopy(document)
    # A list's items carry no apiVersion or kind.
    del live["apiVersion"], live["kind"]
    metadata = live["metadata"]
    metadata.update(uid="u-1", resourceVersion="42", creationTimestamp="2026-01-01T00:00:00Z")
    metadata["annotations"] = {
        **(metadata.get("annotations") or {}),
        "meta.helm.sh/release-name": "shop",
        "meta.helm.sh/release-namespace": "ns",
    }
    metadata["managedFields"] = [{"manager": "helm", "operation": "Update"}]
    if document["kind"] == "Service":
        live["spec"].update(clusterIP="10.0.0.7", clusterIPs=["10.0.0.7"], sessionAffinity="None")
    if document["kind"] == "Deployment":
        metadata["annotations"]["deployment.kubernetes.io/revision"] = "1"
        container = live["spec"]["template"]["spec"]["containers"][0]
        container.update(terminationMessagePath="/dev/termination-log", imagePullPolicy="Always")
        container["resources"] = {"requests": {"cpu": "1", "memory": "192Mi"}}
        del container["env"]
        live["spec"]["progressDeadlineSeconds"] = 600
        live["status"] = {"replicas": 2, "readyReplicas": 2}
    return live


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], object]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], object]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[part]
        del node[last]

    return change


CONTAINER = "spec.template.spec.containers.0"


@pytest.mark.parametrize(
    ("rendered", "change", "difference"),
    [
        # What the server and helm add is not drift.
        (CONFIG_MAP, lambda d: None, None),
        (SERVICE, lambda d: None, None),
        (DEPLOYMENT, lambda d: None, None),
        (POLICY, lambda d: None, None),
        # A key added by hand: neither the chart nor helm's three-way merge speaks of it.
        (CONFIG_MAP, _set("data.EXTRA", "x"), None),
        (SERVICE, _set("spec.ports.0.nodePort", 30000), None),
        # Every field the chart sets is watched, not only replicas and image.
        (CONFIG_MAP, _set("data.AUTH_LOG_LEVEL", "DEBUG"), "data.AUTH_LOG_LEVEL"),
        (CONFIG_MAP, _drop("data.AUTH_PORT"), "data.AUTH_PORT"),
        (SERVICE, _set("spec.ports.0.port", 9000), "spec.ports[0].port"),
        (
            SERVICE,
            _set("spec.selector", {"app.kubernetes.io/name": "x"}),
            "spec.selector.app.kubernetes.io/name",
        ),
        (SERVICE, _set("spec.ports", []), "spec.ports"),
        (DEPLOYMENT, _set("spec.replicas", 5), "spec.replicas"),
        (
            DEPLOYMENT,
            _set(f"{CONTAINER}.image", "evil:1"),
            f"{CONTAINER.replace('.0', '[0]')}.image",
        ),
        (
            DEPLOYMENT,
            _set(f"{CONTAINER}.resources", {"requests": {"cpu": "2", "memory": "192Mi"}}),
            "spec.template.spec.containers[0].resources.requests.cpu",
        ),
        (
            DEPLOYMENT,
            _set("spec.template.metadata.annotations", {}),
            "spec.template.metadata.annotations.checksum/config",
        ),
        (POLICY, _set("spec.action", "DENY"), "spec.action"),
        (
            POLICY,
            _set("spec.rules", [{"from": [{"source": {"principals": ["*"]}}]}]),
            "spec.rules[0].from[0].source.principals[0]",
        ),
        (POLICY, _drop("spec.rules"), "spec.rules"),
    ],
    ids=[
        "configmap-as-served",
        "service-as-served",
        "deployment-as-served",
        "policy-as-served",
        "configmap-key-added",
        "service-field-added",
        "configmap-value",
        "configmap-key-removed",
        "service-port",
        "service-selector",
        "service-ports-emptied",
        "replicas",
        "image",
        "resources",
        "pod-annotations",
        "policy-action",
        "policy-principal",
        "policy-rules-removed",
    ],
)
def test_live_hash_equals_the_rendered_hash_unless_a_rendered_field_changed(
    rendered: dict[str, Any],
    change: Callable[[dict[str, Any]], object],
    difference: str | None,
) -> None:
    live = edited(served(rendered), change)
    assert (live_hash(live, rendered) != rendered_hash(rendered)) == (difference is not None)
    assert first_difference(live, rendered) == difference


@pytest.mark.parametrize(
    ("rendered", "served", "same"),
    [
        ("0.5", "500m", True),
        (1, "1", True),
        (0.25, "250m", True),
        ("1Gi", "1024Mi", True),
        ("1e3", "1k", True),
        ("2", "3", False),
        ("100Mi", "100M", False),
        ("0.1.0", "0.1.0", True),
        ("0.1.0", "0.1", False),
        ("3s", "3s", True),
        (True, "true", False),
    ],
)
def test_quantities_compare_by_value_as_the_apiserver_stores_them(
    rendered: object, served: str, same: bool
) -> None:
    desired = edited(DEPLOYMENT, _set(f"{CONTAINER}.resources", {"requests": {"cpu": rendered}}))
    live = edited(DEPLOYMENT, _set(f"{CONTAINER}.resources", {"requests": {"cpu": served}}))
    assert (live_hash(live, desired) == rendered_hash(desired)) == same


def test_the_rendered_hash_is_of_the_object_not_its_spelling() -> None:
    reordered = {key: DEPLOYMENT[key] for key in reversed(list(DEPLOYMENT))}
    assert rendered_hash(reordered) == rendered_hash(DEPLOYMENT)
    # Nulls and empty maps are what the API omits; a real value is not.
    assert rendered_hash(edited(DEPLOYMENT, _drop("metadata.annotations"))) == rendered_hash(
        DEPLOYMENT
    )
    assert rendered_hash(edited(DEPLOYMENT, _set("spec.replicas", 3))) != rendered_hash(DEPLOYMENT)
