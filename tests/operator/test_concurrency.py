"""One operator, twenty stores: ProductStores in twenty namespaces, created at once,
all converge to Ready and are all cleaned up, Vault included.

The operator is devstack's `operator` component (one process, the chart's RBAC);
each store is the devstack sample cut to one Pod of auth and catalog, so twenty
fit on kwok's node beside other sessions' Pods.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kubernetes import client

from devstack.components.openbao import OpenBao
from devstack.components.operator import SAMPLE_KV_PATH, ProductStoreOperator
from devstack.process import read_pid_file
from productstore_operator.builders import StoreRef
from productstore_operator.builders.naming import vault_role_name
from tests.support.stores import (
    SMALL_SERVICES,
    create_store,
    create_store_namespace,
    delete_namespace,
    delete_store,
    small_devstack_store,
    vault_role_names,
    wait_gone,
    wait_ready,
    write_cassandra_admin,
)

# Serial in make test: twenty stores at once fill the shared operator's helm slots for minutes.
pytestmark = pytest.mark.serial

STORES = 20
STORE = "shop"
# devstack's operator's one Vault, "default", keeps the chart's default prefix.
ROLE_PREFIX = "productstore"
# For all twenty together, on a busy 2-core machine.
CONVERGE_TIMEOUT = 900.0


@pytest.fixture
def namespaces(
    productstore_operator: ProductStoreOperator, kube_api: client.ApiClient
) -> Iterator[list[str]]:
    created: list[str] = []
    try:
        created.extend(create_store_namespace(kube_api, "store-conc") for _ in range(STORES))
        yield created
    finally:
        for namespace in created:
            delete_store(kube_api, namespace, STORE)
        try:
            for namespace in created:
                wait_gone(kube_api, namespace, STORE)
        finally:
            for namespace in created:
                delete_namespace(kube_api, namespace, stores=(STORE,))


def _expected(namespaces: list[str]) -> set[str]:
    """The role (and policy) of each service of each store, by exact name."""
    return {
        vault_role_name(ROLE_PREFIX, StoreRef(STORE, namespace), service)
        for namespace in namespaces
        for service in SMALL_SERVICES
    }


def _vault_names(openbao: OpenBao, wanted: set[str]) -> tuple[set[str], set[str]]:
    """Which of the names ``wanted`` exist as Kubernetes-auth roles and as ACL policies."""
    bao = openbao.client()
    roles = vault_role_names(bao)
    policies = set(bao.sys.list_acl_policies()["data"]["keys"])
    return wanted & roles, wanted & policies


def _remaining(deadline: float) -> float:
    return max(deadline - time.monotonic(), 1.0)


def _operator_pid(operator: ProductStoreOperator) -> int:
    process = read_pid_file(operator.pid_file(operator.name))
    assert process is not None, "the operator component is not running"
    return process.pid


def test_twenty_stores_converge_concurrently_and_clean_up(
    kube_api: client.ApiClient,
    openbao: OpenBao,
    productstore_operator: ProductStoreOperator,
    namespaces: list[str],
) -> None:
    pid = _operator_pid(productstore_operator)
    write_cassandra_admin(openbao, SAMPLE_KV_PATH)
    for namespace in namespaces:
        create_store(kube_api, namespace, small_devstack_store(STORE))

    deadline = time.monotonic() + CONVERGE_TIMEOUT
    stores = [wait_ready(kube_api, ns, STORE, timeout=_remaining(deadline)) for ns in namespaces]
    for store in stores:
        replicas = store["status"]["services"]
        assert {s: replicas[s]["readyReplicas"] for s in SMALL_SERVICES} == {
            "auth": 1,
            "catalog": 1,
        }
    apps = client.AppsV1Api(kube_api)
    for namespace in namespaces:
        names = {d.metadata.name for d in apps.list_namespaced_deployment(namespace).items}
        assert names == {f"{STORE}-{service}" for service in SMALL_SERVICES}
    # A role and a policy (same name) per service and store, under the store's own names.
    expected = _expected(namespaces)
    assert _vault_names(openbao, expected) == (expected, expected)

    for namespace in namespaces:
        delete_store(kube_api, namespace, STORE)
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    for namespace in namespaces:
        wait_gone(kube_api, namespace, STORE, timeout=_remaining(deadline))
    assert _vault_names(openbao, expected) == (set(), set())
    for namespace in namespaces:
        secrets = client.CoreV1Api(kube_api).list_namespaced_secret(
            namespace, label_selector="owner=helm"
        )
        assert secrets.items == [], f"helm release left in {namespace}"
    # One operator process did it all (it neither crashed nor was restarted).
    assert _operator_pid(productstore_operator) == pid
