"""The chart's gateway on the real node: the image
built here from images/gateway/Dockerfile, with the chart's rendered ConfigMap, in front
of a catalog Pod from the catalog's image, reached from this machine through a NodePort
on the node's address (198.51.100.1).

The node is shared: this test uses the running one (`make up` starts it; the suite
starts it where it does not run) and never stops it. It builds the gateway's image
(buildah's cache makes an unchanged one cost seconds) and imports it into the
node's containerd, and deletes the namespace, the keyspace and its role it made.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml

from devstack import cassandra_auth
from devstack.component import Context
from devstack.components.helm import Helm
from devstack.components.kube_cluster import admin_api
from devstack.components.node import IMAGE_REGISTRY, NODE_NAME, TAINT, Node, service_image
from devstack.node_address import NODE_IP
from devstack.paths import Paths
from tests.devstack.test_node_net_component import _catalog_pod, _wait
from tests.support.helm import HelmCli

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "productstore"
STORE = "shop"
# The chart's API paths of each kind of object the gateway needs.
API_PATHS = {
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "Service": "/api/v1/namespaces/{ns}/services",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
}


def _gateway_objects(helm: Helm, home: Path, namespace: str) -> list[dict[str, Any]]:
    """The chart's gateway for a store of the catalog alone, on the real node, from the
    images built here, its Service a NodePort Kubernetes picks."""
    others = ("auth", "orders", "inventory", "wishlist", "reviews", "notifications")
    out = (
        HelmCli(helm, home)
        .run(
            "template",
            STORE,
            str(CHART),
            "--namespace",
            namespace,
            "--set",
            f"fullnameOverride={STORE}",
            "--set",
            ",".join(f"services.{name}.enabled=false" for name in others),
            "--set",
            f"global.image.registry={IMAGE_REGISTRY},global.image.pullPolicy=Never",
            "--set",
            "gateway.enabled=true,gateway.replicas=1,gateway.service.type=NodePort",
            "--set",
            f"gateway.nodeSelector.kubernetes\\.io/hostname={NODE_NAME}",
            "--set",
            f"gateway.tolerations[0].key={TAINT['key']},gateway.tolerations[0].operator=Exists",
            "--set",
            "gateway.drainSeconds=1",
        )
        .stdout
    )
    docs = [d for d in yaml.safe_load_all(out) if d]
    return [
        d
        for d in docs
        if d["metadata"]["labels"].get("app.kubernetes.io/component") == "gateway"
        and d["kind"] in API_PATHS
    ]


def _catalog_service(namespace: str) -> dict[str, Any]:
    """The Service the chart names <store>-catalog, in front of the catalog Pod."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{STORE}-catalog", "namespace": namespace},
        "spec": {
            "selector": {"app": "catalog"},
            "ports": [{"name": "http", "port": 8000, "targetPort": "http"}],
        },
    }


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_the_gateway_image_routes_to_a_catalog_pod_through_a_node_port(
    helm: Helm, real_node: Node, tmp_path: Path
) -> None:
    paths = Paths.from_env()
    node = Node(Context(paths=paths, options={"node.images": "gateway"}))
    # The catalog's image is the one the node imported at its start: building it again
    # here would replace, in the shared layout, what other checkouts' tests run.
    assert service_image("catalog") in node.ctr("images", "ls", "-q"), (
        "the node has no catalog image: `devstack up node` imports every service's"
    )
    started = time.monotonic()
    node.build_images()
    node.import_images()
    print(f"gateway image built and imported in {time.monotonic() - started:.1f} s")  # noqa: T201
    assert service_image("gateway") in node.ctr("images", "ls", "-q")

    suffix = uuid.uuid4().hex[:8]
    namespace = f"node-gateway-{suffix}"
    keyspace = f"catalog_gw_{suffix}"
    role = cassandra_auth.ensure_keyspace_role(paths, "127.0.0.1", 9042, keyspace)
    assert role is not None, "devstack's Cassandra checks passwords"
    try:
        with admin_api(paths) as api:
            api.post(
                "/api/v1/namespaces",
                json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            ).raise_for_status()
            base = f"/api/v1/namespaces/{namespace}"
            api.post(
                f"{base}/secrets",
                json={
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "cassandra"},
                    "stringData": {"cassandra-password": role[1].read_text().strip()},
                },
            ).raise_for_status()
            api.post(
                f"{base}/pods", json=_catalog_pod(namespace, keyspace, suffix, kafka=False)
            ).raise_for_status()
            api.post(f"{base}/services", json=_catalog_service(namespace)).raise_for_status()
            applied = time.monotonic()
            objects = _gateway_objects(helm, tmp_path / "helm-home", namespace)
            assert sorted(o["kind"] for o in objects) == sorted(API_PATHS)
            for body in objects:
                api.post(API_PATHS[body["kind"]].format(ns=namespace), json=body).raise_for_status()
            gateway = f"{STORE}-gateway"

            def ready(name: str) -> dict[str, Any]:
                def probe() -> dict[str, Any] | None:
                    pods = api.get(f"{base}/pods").json()["items"]
                    for pod in pods:
                        if not pod["metadata"]["name"].startswith(name):
                            continue
                        statuses = pod.get("status", {}).get("containerStatuses") or []
                        if statuses and statuses[0]["restartCount"] > 0:
                            log = api.get(
                                f"{base}/pods/{pod['metadata']['name']}/log",
                                params={"previous": "true"},
                            )
                            raise AssertionError(f"{name} restarted: {log.text[-2000:]}")
                        conditions = pod.get("status", {}).get("conditions") or []
                        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                            result: dict[str, Any] = pod
                            return result
                    return None

                try:
                    return _wait(f"{name} Ready", probe, 180)
                except AssertionError as exc:
                    pods = api.get(f"{base}/pods").json()["items"]
                    found = [p for p in pods if p["metadata"]["name"].startswith(name)]
                    states = [p.get("status", {}).get("containerStatuses") for p in found]
                    logs = [
                        api.get(f"{base}/pods/{p['metadata']['name']}/log").text[-1500:]
                        for p in found
                    ]
                    raise AssertionError(f"{exc}: {states} {logs}") from None

            gateway_pod = ready(gateway)
            print(f"gateway Pod Ready {time.monotonic() - applied:.1f} s after apply")  # noqa: T201
            [status] = gateway_pod["status"]["containerStatuses"]
            assert status["image"].endswith(service_image("gateway").split("/", 1)[1])
            assert gateway_pod["spec"]["nodeName"] == NODE_NAME
            ready("catalog")
            service = api.get(f"{base}/services/{gateway}").json()
            node_port = service["spec"]["ports"][0]["nodePort"]
            url = f"http://{NODE_IP}:{node_port}"

            with httpx.Client(base_url=url, timeout=10) as client:
                health = _wait(
                    "the gateway's /healthz through the NodePort",
                    lambda: _ok(client, "/healthz"),
                    60,
                )
                assert re.fullmatch(r"[0-9a-f]{32}", health.headers["x-request-id"])
                # Routed to the catalog Pod: its (empty) keyspace's categories.
                categories = _wait(
                    "the catalog through the gateway", lambda: _ok(client, "/api/categories"), 60
                )
                assert categories.json()["items"] == [], "its own keyspace has none"
                assert categories.headers["x-frame-options"] == "DENY"
                kept = client.get("/api/categories", headers={"X-Request-ID": f"node-{suffix}"})
                assert kept.headers["x-request-id"] == f"node-{suffix}"
                # A product the catalog does not have: the catalog's 404, not the gateway's.
                product = client.get("/api/products/00000000-0000-0000-0000-000000000000")
                assert product.status_code == 404
                assert "reason" in product.json(), "the gateway's problems carry none"
                # No service at the path, and a disabled service's path: the gateway's 404.
                for path in ("/api/nothing", "/api/orders"):
                    assert _problem(client.get(path), 404)["title"] == "Not Found"
                too_large = client.post("/api/products", content=b"x" * (2 * 1024 * 1024))
                _problem(too_large, 413)
                # The catalog gone: its Service has no endpoint, the gateway answers 503.
                api.delete(f"{base}/pods/catalog", params={"gracePeriodSeconds": "0"})
                SEEN.clear()
                try:
                    down = _wait(
                        "the gateway's 503 once the catalog is gone",
                        lambda: _status(client, "/api/categories", 503),
                        60,
                    )
                except AssertionError as exc:
                    raise AssertionError(f"{exc}; answers meanwhile: {SEEN[-5:]}") from None
                assert _problem(down, 503)["title"] == "Service Unavailable"
    finally:
        with admin_api(paths) as api:
            api.delete(f"/api/v1/namespaces/{namespace}")
        cassandra_auth.drop_keyspace_role(paths, "127.0.0.1", 9042, keyspace)


def _ok(client: httpx.Client, path: str) -> httpx.Response | None:
    return _status(client, path, 200)


SEEN: list[str] = []


def _status(client: httpx.Client, path: str, status: int) -> httpx.Response | None:
    """The answer at ``path`` if it has ``status``; what came instead goes to SEEN."""
    try:
        response = client.get(path)
    except httpx.TransportError as exc:
        SEEN.append(f"{path}: {exc!r}")
        return None
    if response.status_code != status:
        SEEN.append(f"{path}: {response.status_code} {response.text[:200]}")
        return None
    return response
