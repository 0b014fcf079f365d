"""Smoke tests of the local Kubernetes control plane (etcd, apiserver, controllers, kwok)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from devstack.components.kube import KUBERNETES_VERSION, KubeApiserver
from devstack.components.kube_cluster import KWOK_NODE

# The whole path apiserver -> controller-manager -> scheduler -> kwok takes
# seconds; the margin is for a busy 2-core machine.
POD_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def namespace(kube_api: client.ApiClient) -> Iterator[str]:
    name = f"smoke-kube-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(kube_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        core.delete_namespace(name)


def test_server_version(kube: KubeApiserver, kube_api: client.ApiClient) -> None:
    assert kube.server == "https://127.0.0.1:6443"
    assert kube.ca_cert.is_file()
    assert kube.kubectl.is_file()
    info = client.VersionApi(kube_api).get_code()
    assert info.git_version == KUBERNETES_VERSION == "v1.34.4"


def test_deployment_pods_run_on_kwok_node(kube_api: client.ApiClient, namespace: str) -> None:
    labels = {"app": "smoke"}
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="smoke"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    # kwok never pulls or runs images: the name only has to be valid.
                    containers=[client.V1Container(name="app", image="example.invalid/app:1")],
                    node_selector={"type": "kwok"},
                ),
            ),
        ),
    )
    client.AppsV1Api(kube_api).create_namespaced_deployment(namespace, deployment)

    core = client.CoreV1Api(kube_api)
    deadline = time.monotonic() + POD_TIMEOUT
    running: list[client.V1Pod] = []
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(namespace, label_selector="app=smoke").items
        running = [p for p in pods if p.status.phase == "Running"]
        if len(running) == 2:
            break
        time.sleep(1)
    phases = [(p.metadata.name, p.status.phase) for p in running]
    assert len(running) == 2, f"pods not Running after {POD_TIMEOUT:.0f}s: {phases}"
    assert {p.spec.node_name for p in running} == {KWOK_NODE}
    assert all(p.status.pod_ip for p in running)

    status = client.AppsV1Api(kube_api).read_namespaced_deployment_status("smoke", namespace).status
    deadline = time.monotonic() + 30
    while (status.available_replicas or 0) < 2 and time.monotonic() < deadline:
        time.sleep(1)
        status = (
            client.AppsV1Api(kube_api).read_namespaced_deployment_status("smoke", namespace).status
        )
    assert status.available_replicas == 2


def test_istio_custom_resource_round_trip(kube_api: client.ApiClient, namespace: str) -> None:
    custom = client.CustomObjectsApi(kube_api)
    body: dict[str, Any] = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "smoke"},
        "spec": {
            "host": f"smoke.{namespace}.svc.cluster.local",
            "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}},
        },
    }
    custom.create_namespaced_custom_object(
        "networking.istio.io", "v1", namespace, "destinationrules", body
    )
    got = custom.get_namespaced_custom_object(
        "networking.istio.io", "v1", namespace, "destinationrules", "smoke"
    )
    assert got["spec"]["host"] == body["spec"]["host"]
    assert got["spec"]["trafficPolicy"]["tls"]["mode"] == "ISTIO_MUTUAL"

    # The CRD's schema is enforced: a wrong type is rejected by the apiserver.
    bad: dict[str, Any] = {**body, "metadata": {"name": "bad"}, "spec": {"host": 42}}
    with pytest.raises(ApiException) as excinfo:
        custom.create_namespaced_custom_object(
            "networking.istio.io", "v1", namespace, "destinationrules", bad
        )
    assert excinfo.value.status == 422


@pytest.mark.parametrize(
    ("group", "version", "plural"),
    [
        ("k8ssandra.io", "v1alpha1", "k8ssandraclusters"),
        ("monitoring.coreos.com", "v1", "servicemonitors"),
        ("monitoring.coreos.com", "v1", "prometheusrules"),
        ("monitoring.coreos.com", "v1", "podmonitors"),
        ("monitoring.coreos.com", "v1alpha1", "alertmanagerconfigs"),
    ],
)
def test_third_party_crds_served(
    kube_api: client.ApiClient, namespace: str, group: str, version: str, plural: str
) -> None:
    crd = client.ApiextensionsV1Api(kube_api).read_custom_resource_definition(f"{plural}.{group}")
    conditions = {c.type: c.status for c in crd.status.conditions}
    assert conditions.get("Established") == "True"
    assert version in [v.name for v in crd.spec.versions if v.served]
    listed = client.CustomObjectsApi(kube_api).list_namespaced_custom_object(
        group, version, namespace, plural
    )
    assert listed["items"] == []
