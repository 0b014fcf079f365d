"""A ProductStore on the real node: manifests/samples/productstore-node.yaml, applied
to devstack's apiserver and reconciled by devstack's operator, runs its services as
real containers (containerd, kubelet) from the images built here, their secrets
rendered by the Vault agent from devstack's OpenBao, and serves a user from them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client

from devstack.components.node import NODE_NAME, Node
from devstack.components.openbao import OpenBao
from devstack.components.operator import SAMPLE_KV_PATH, ProductStoreOperator
from devstack.node_address import NODE_IP
from productstore_operator.builders import StoreRef, naming
from productstore_operator.models import ProductStoreSpec
from tests.support.stores import (
    create_store,
    create_store_namespace,
    delete_namespace,
    delete_store,
    wait_gone,
    wait_ready,
)

SAMPLE = Path(__file__).resolve().parents[2] / "manifests/samples/productstore-node.yaml"
# Four services' first start on a busy 2-core machine: images unpacked, migrations
# under their LWT locks, Kafka topics, the search index.
READY_TIMEOUT = 600.0


@pytest.fixture(scope="module")
def node_store(
    kube_api: client.ApiClient,
    real_node: Node,
    productstore_operator: ProductStoreOperator,
) -> Iterator[tuple[str, dict[str, Any]]]:
    body: dict[str, Any] = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    name = body["metadata"]["name"]
    namespace = create_store_namespace(kube_api, "store-node")
    try:
        create_store(kube_api, namespace, body)
        started = time.monotonic()
        store = wait_ready(kube_api, namespace, name, timeout=READY_TIMEOUT)
        print(f"store Ready on the real node in {time.monotonic() - started:.0f} s")  # noqa: T201
        yield namespace, store
    finally:
        delete_store(kube_api, namespace, name)
        wait_gone(kube_api, namespace, name)
        delete_namespace(kube_api, namespace, stores=[name])


def _pods(api: client.ApiClient, namespace: str, service: str) -> list[Any]:
    pods = client.CoreV1Api(api).list_namespaced_pod(
        namespace, label_selector=f"app.kubernetes.io/component={service}"
    )
    return list(pods.items)


def test_every_enabled_service_runs_in_containerd_on_the_real_node(
    kube_api: client.ApiClient, real_node: Node, node_store: tuple[str, dict[str, Any]]
) -> None:
    namespace, store = node_store
    spec = ProductStoreSpec.model_validate(store["spec"])
    enabled = spec.services.enabled()
    assert set(enabled) == {"auth", "catalog", "inventory", "reviews"}
    containers = set(real_node.ctr("containers", "ls", "-q").split())
    # ServicesReady from real readiness: the Deployments' Pods passed their probes,
    # which check Cassandra, Redis and Kafka.
    conditions = {c["type"]: c for c in store["status"]["conditions"]}
    assert conditions["ServicesReady"]["status"] == "True", conditions["ServicesReady"]
    for service in [*enabled, "gateway"]:
        pods = [
            p for p in _pods(kube_api, namespace, service) if p.metadata.deletion_timestamp is None
        ]
        assert pods, f"no Pod of {service}"
        for pod in pods:
            assert pod.spec.node_name == NODE_NAME, (service, pod.spec.node_name)
            statuses = {s.name: s for s in pod.status.container_statuses}
            main = statuses[service]
            assert main.ready and main.restart_count == 0, (service, main)
            assert main.container_id.startswith("containerd://")
            assert main.container_id.removeprefix("containerd://") in containers
            assert main.image.endswith(f"/productstore-{service}:{spec.version}")
            if service == "gateway":
                continue  # nginx holds no secret
            # The agent rendered the secrets before the service started (an init
            # container that exited 0) and keeps them (a native sidecar, running).
            agents = {s.name: s for s in pod.status.init_container_statuses}
            init = agents["vault-agent-init"].state.terminated
            assert init is not None and init.exit_code == 0, agents["vault-agent-init"]
            sidecar = agents["vault-agent"]
            assert sidecar.state.running is not None and sidecar.restart_count == 0, sidecar


def _gateway_url(api: client.ApiClient, namespace: str, store: str) -> str:
    svc = client.CoreV1Api(api).read_namespaced_service(f"{store}-gateway", namespace)
    assert svc.spec.type == "NodePort"
    # The store's own gateway, reached as a user outside the cluster would: the node's
    # address and the node port.
    return f"http://{NODE_IP}:{svc.spec.ports[0].node_port}"


def test_a_user_and_the_first_admin_are_served_through_the_in_cluster_gateway(
    kube_api: client.ApiClient, openbao: OpenBao, node_store: tuple[str, dict[str, Any]]
) -> None:
    namespace, store = node_store
    name = store["metadata"]["name"]
    spec = ProductStoreSpec.model_validate(store["spec"])
    auth = catalog = _gateway_url(kube_api, namespace, name)
    # The first administrator's password: generated by the operator into the store's
    # Vault folder, rendered into auth's Pod by the agent, read here as an admin would.
    folder = naming.vault_store_path(SAMPLE_KV_PATH, StoreRef(name, namespace))
    secret = openbao.client().secrets.kv.v2.read_secret_version(
        path=f"{folder}/auth/first-admin", mount_point="secret", raise_on_deleted_version=True
    )
    password = secret["data"]["data"]["password"]
    with httpx.Client(timeout=30) as http:
        login = http.post(
            f"{auth}/api/auth/login", json={"email": spec.admin.email, "password": password}
        )
        assert login.status_code == 200, login.text
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        word = f"nodeprobe{uuid.uuid4().hex[:8]}"
        category = http.post(
            f"{catalog}/api/categories",
            headers=admin,
            json={"slug": "kitchen", "name": "Kitchen", "description": "Pots and kettles"},
        )
        assert category.status_code == 201, category.text
        created = http.post(
            f"{catalog}/api/products",
            headers=admin,
            json={
                "name": f"Kettle {word}",
                "description": "A glass kettle served from a real Pod",
                "category": "kitchen",
                "price": "24.90",
                "currency": "EUR",
            },
        )
        assert created.status_code == 201, created.text
        product = created.json()["id"]
        # A user registers and logs in, then finds it (the index follows Kafka).
        email = f"node-{uuid.uuid4().hex[:8]}@example.com"
        registered = http.post(
            f"{auth}/api/auth/register",
            json={"email": email, "name": "Node User", "password": "a long enough passphrase"},
        )
        assert registered.status_code == 201, registered.text
        user = http.post(
            f"{auth}/api/auth/login",
            json={"email": email, "password": "a long enough passphrase"},
        )
        assert user.status_code == 200, user.text
        me = http.get(
            f"{auth}/api/auth/me",
            headers={"Authorization": f"Bearer {user.json()['access_token']}"},
        )
        assert me.status_code == 200 and me.json()["email"] == email, me.text
        deadline = time.monotonic() + 60
        found: list[str] = []
        while time.monotonic() < deadline:
            search = http.get(f"{catalog}/api/products/search", params={"q": word})
            assert search.status_code == 200, search.text
            found = [item["id"] for item in search.json()["items"]]
            if product in found:
                break
            time.sleep(1)
        assert found == [product]
