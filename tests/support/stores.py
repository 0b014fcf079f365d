"""ProductStores on devstack's apiserver, for tests that run the whole operator loop.

The store is manifests/samples/productstore-devstack.yaml (the servers `make up`
runs) under a name and namespace of the test's choosing; every wait is bounded
and fails with the store's conditions, so a stuck reconcile says where it stuck.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import hvac
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from devstack import cassandra_auth
from devstack.components.cassandra import CQL_PORT
from devstack.components.cassandra import HOST as CASSANDRA_HOST
from devstack.components.openbao import OpenBao
from devstack.components.operator import grant_object
from devstack.paths import Paths
from productstore_operator.builders import StoreRef, naming
from productstore_operator.models import GROUP, PLURAL, SERVICE_NAMES, VERSION

SAMPLE = Path(__file__).resolve().parents[2] / "manifests/samples/productstore-devstack.yaml"
# Generous for a busy 2-core machine shared by several sessions.
READY_TIMEOUT = 240.0
GONE_TIMEOUT = 180.0

# catalog calls auth: the smallest set the call graph accepts beyond auth alone.
SMALL_SERVICES = ("auth", "catalog")

Store = dict[str, Any]


def devstack_store(name: str) -> Store:
    """The devstack sample, renamed."""
    body: Store = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    body["metadata"] = {"name": name}
    return body


def small_devstack_store(name: str) -> Store:
    """The devstack sample with one Pod each of auth and catalog (the node holds 110 Pods).

    Its Vault roles and secrets carry its namespace (and a digest of it): a test
    finds its own by exact name (``naming.vault_role_name``).
    """
    body = devstack_store(name)
    body["spec"]["services"] = {
        service: {"enabled": service in SMALL_SERVICES, "replicas": 1} for service in SERVICE_NAMES
    }
    return body


def write_cassandra_admin(openbao: OpenBao, kv_path: str) -> None:
    """devstack's Cassandra superuser as the administrator credential of the stores
    under ``kv_path`` (the operator makes each service's role with it)."""
    superuser = cassandra_auth.superuser(openbao.paths)
    openbao.client().secrets.kv.v2.create_or_update_secret(
        path=f"{kv_path}/cassandra-admin",
        secret={"username": superuser.username, "password": superuser.password},
        mount_point="secret",
    )


def create_namespace(api: client.ApiClient, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def create_store_namespace(api: client.ApiClient, prefix: str) -> str:
    """A namespace for devstack's operator: ``prefix`` must start with "store-" (what
    it watches), and the operator is granted it, as an administrator would."""
    assert prefix.startswith("store-"), f"devstack's operator does not watch {prefix}-*"
    name = create_namespace(api, prefix)
    client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(name, grant_object(name))
    return name


def delete_namespace(api: client.ApiClient, name: str, stores: Iterable[str] = ()) -> None:
    """Delete a test's namespace, then the Cassandra keyspaces of the stores that
    were in it, which their operator keeps (deletionPolicy Retain): left behind,
    every run adds a few stores' worth of tables, and Cassandra's schema changes
    and restarts slow down with each. The keyspaces go after the delete, when no
    new reconcile of those stores starts (one under way may still make one).
    ``stores`` names stores deleted before (their keyspaces stay too)."""
    refs = set(store_refs(api, name)) | {StoreRef(store, name) for store in stores}
    try:
        client.CoreV1Api(api).delete_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise
    drop_store_keyspaces(sorted(refs, key=lambda ref: ref.name))


def store_refs(api: client.ApiClient, namespace: str) -> list[StoreRef]:
    """The ProductStores in ``namespace`` (none when it or the CRD is gone)."""
    try:
        stores = client.CustomObjectsApi(api).list_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL
        )["items"]
    except ApiException as exc:
        if exc.status == 404:
            return []
        raise
    return [StoreRef(name=store["metadata"]["name"], namespace=namespace) for store in stores]


def drop_store_keyspaces(stores: Iterable[StoreRef]) -> list[str]:
    """Drop the stores' keyspaces (and roles) from devstack's Cassandra; returns their names."""
    dropped: list[str] = []
    for ref in stores:
        dropped += cassandra_auth.drop_keyspaces_with_prefix(
            Paths.from_env(), CASSANDRA_HOST, CQL_PORT, f"{naming.keyspace(ref)}_"
        )
    return dropped


def create_store(api: client.ApiClient, namespace: str, body: Store) -> Store:
    created: Store = client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, body
    )
    return created


def get_store(api: client.ApiClient, namespace: str, name: str) -> Store | None:
    try:
        found: Store = client.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name
        )
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return found


def is_ready(store: Store) -> bool:
    """The contract's readiness: phase Ready, condition Ready True, status of this generation."""
    status = store.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    return (
        status.get("phase") == "Ready"
        and bool(ready)
        and ready[0].get("status") == "True"
        and status.get("observedGeneration") == store["metadata"]["generation"]
    )


def wait_ready(
    api: client.ApiClient, namespace: str, name: str, timeout: float = READY_TIMEOUT
) -> Store:
    deadline = time.monotonic() + timeout
    store = get_store(api, namespace, name)
    while time.monotonic() < deadline:
        if store is not None and is_ready(store):
            return store
        time.sleep(1)
        store = get_store(api, namespace, name)
    status = (store or {}).get("status")
    raise AssertionError(f"{namespace}/{name} not Ready after {timeout:.0f}s; status: {status}")


def delete_store(api: client.ApiClient, namespace: str, name: str) -> None:
    try:
        client.CustomObjectsApi(api).delete_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name
        )
    except ApiException as exc:
        if exc.status != 404:
            raise


def wait_gone(
    api: client.ApiClient, namespace: str, name: str, timeout: float = GONE_TIMEOUT
) -> None:
    """Until the operator's finalizer has run and the store is deleted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if get_store(api, namespace, name) is None:
            return
        time.sleep(1)
    raise AssertionError(f"{namespace}/{name} still exists {timeout:.0f}s after its deletion")


def vault_role_names(bao: hvac.Client, mount: str = "kubernetes") -> set[str]:
    """The Kubernetes-auth roles in OpenBao; a LIST of none is a 404 there, i.e. no roles."""
    try:
        listed = bao.auth.kubernetes.list_roles(mount_point=mount)
    except hvac.exceptions.InvalidPath:
        return set()
    return set(listed.get("keys", []))
