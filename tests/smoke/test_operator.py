"""The devstack operator: the user's path from `kubectl apply` of the devstack sample to a
Ready store, and back to nothing when the store is deleted.

The operator runs as devstack's `operator` component, with the RBAC of
charts/productstore-operator (not as admin), against the real apiserver,
controller-manager, scheduler, kwok and OpenBao.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from devstack.components.openbao import OpenBao
from devstack.components.operator import METRICS_URL, ProductStoreOperator
from productstore_operator.builders.naming import StoreRef, release_name, vault_role_name
from productstore_operator.models import IMPLEMENTED_SERVICES
from tests.support.stores import (
    GONE_TIMEOUT,
    create_store,
    create_store_namespace,
    delete_namespace,
    delete_store,
    devstack_store,
    vault_role_names,
    wait_gone,
    wait_ready,
)

STORE = "shop"
ROLE_PREFIX = "productstore"  # devstack's operator's Vault "default" keeps the default prefix


@pytest.fixture
def namespace(
    productstore_operator: ProductStoreOperator, kube_api: client.ApiClient
) -> Iterator[str]:
    name = create_store_namespace(kube_api, "store-smoke")
    try:
        yield name
    finally:
        delete_store(kube_api, name, STORE)
        try:
            wait_gone(kube_api, name, STORE)
        finally:
            delete_namespace(kube_api, name, stores=(STORE,))


def _ready_reconciles() -> float:
    text = httpx.get(METRICS_URL, timeout=5).text
    for family in text_string_to_metric_families(text):
        if family.name == "productstore_operator_reconciles":
            return sum(
                s.value
                for s in family.samples
                if s.name.endswith("_total") and s.labels.get("result") == "ready"
            )
    return 0.0


def _helm_releases(api: client.ApiClient, namespace: str, release: str) -> list[str]:
    secrets = client.CoreV1Api(api).list_namespaced_secret(
        namespace, label_selector=f"owner=helm,name={release}"
    )
    return [s.metadata.name for s in secrets.items]


def _deployments(api: client.ApiClient, namespace: str) -> dict[str, tuple[int, int]]:
    items = client.AppsV1Api(api).list_namespaced_deployment(namespace).items
    return {
        d.metadata.name: (d.status.available_replicas or 0, d.spec.replicas or 0) for d in items
    }


def _vault_roles(openbao: OpenBao) -> set[str]:
    return vault_role_names(openbao.client())


def test_devstack_sample_becomes_ready_and_is_cleaned_up(
    kube_api: client.ApiClient, openbao: OpenBao, namespace: str
) -> None:
    ref = StoreRef(name=STORE, namespace=namespace)
    release = release_name(ref)
    roles = {vault_role_name(ROLE_PREFIX, ref, service) for service in IMPLEMENTED_SERVICES}
    reconciled_before = _ready_reconciles()

    create_store(kube_api, namespace, devstack_store(STORE))
    store = wait_ready(kube_api, namespace, STORE)

    conditions = {c["type"]: c["status"] for c in store["status"]["conditions"]}
    assert conditions == {
        "Ready": "True",
        "SecretsReady": "True",
        "CassandraReady": "True",
        "ServicesReady": "True",
        "MeshConfigured": "True",
    }
    # Every service with code runs (kwok plays the node) as the release's Deployment; no other.
    deployments = _deployments(kube_api, namespace)
    assert set(deployments) == {f"{STORE}-{s}" for s in IMPLEMENTED_SERVICES}
    assert all(available == wanted > 0 for available, wanted in deployments.values())
    assert _helm_releases(kube_api, namespace, release)
    assert roles <= _vault_roles(openbao)
    assert _ready_reconciles() > reconciled_before

    delete_store(kube_api, namespace, STORE)
    wait_gone(kube_api, namespace, STORE)
    # The finalizer uninstalled the release and removed the Vault roles.
    assert _helm_releases(kube_api, namespace, release) == []
    assert not roles & _vault_roles(openbao)
    deadline = time.monotonic() + GONE_TIMEOUT
    while _deployments(kube_api, namespace) and time.monotonic() < deadline:
        time.sleep(1)
    assert _deployments(kube_api, namespace) == {}
