"""Benchmark: a ProductStore on devstack's real node, through its own gateway.

Runs against the running devstack (`make up`) and its real node (which `make up`
starts; where it does not run, started here, timed as the warm start, and stopped
again):

- warm start of the node (`devstack up node`: containerd, kubelet, kube-proxy,
  CoreDNS and the import of the images built here) and the resident memory of its
  daemons (containerd, its shims, kubelet, kube-proxy, CoreDNS);
- apply -> first successful search: manifests/samples/productstore-node.yaml with
  its gateway on (a NodePort on the node's address 198.51.100.1), in a namespace of
  its own; seconds from the create to the first 200 of a search through the
  in-cluster gateway, and to the store's Ready; the resident memory of the store's
  Pods (services, Vault agents, gateway);
- catalog reads (GET /api/products/{id}, one product read over and over: the cached
  read of a popular product page) with wrk through the in-cluster gateway, and, in
  the same run, through devstack's gateway (nginx on 127.0.0.1:8080 in front of
  devstack's catalog on the host): requests per second and p99 of each and their
  ratio. Both gateways' per-address rate limits are raised for the run (a benchmark
  is one address); devstack's is restored after.

Output: JSON on stdout and in bench/results/node-store.json. The store, its
namespace and keyspaces are deleted at the end.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
import yaml
from kubernetes import client, config
from wrk_paths import run_wrk, write_paths

from devstack import cassandra_auth
from devstack.component import Context
from devstack.components.nginx import Nginx, Wrk
from devstack.components.node import Node
from devstack.components.operator import SAMPLE_KV_PATH, grant_object
from devstack.node_address import NODE_IP
from devstack.paths import Paths
from devstack.process import read_pid_file
from devstack.stack import Stack
from productstore_operator.builders import StoreRef, naming

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "node-store.json"
SAMPLE = REPO / "manifests" / "samples" / "productstore-node.yaml"
GROUP, VERSION, PLURAL = "productstore.io", "v1alpha1", "productstores"
NODE_PORT = 30180
DEVSTACK_GATEWAY = "http://127.0.0.1:8080"
READY_TIMEOUT = 600.0
WRK_SECONDS = 20
WRK_CONNECTIONS = 16
RAISED = 1_000_000
DEVSTACK_LIMITS = {"gateway.rate": str(RAISED), "gateway.burst": str(RAISED)}


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            continue
    return round(total / 2**20, 1)


def _tree(pid: int) -> list[int]:
    try:
        root = psutil.Process(pid)
        return [pid, *(child.pid for child in root.children(recursive=True))]
    except psutil.Error:
        return []


def _node_daemons(node: Node) -> tuple[list[int], list[int]]:
    """(the node's daemons and containerd's shims, the Pods' processes below the shims)."""
    daemons: list[int] = []
    pods: list[int] = []
    for spec in node.processes():
        proc = read_pid_file(node.paths.pid_file(spec.name))
        if proc is not None:
            daemons += _tree(proc.pid)
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if "containerd-shim" in cmdline and str(node.containerd_socket) in cmdline:
            daemons.append(proc.pid)
            pods += [p for p in _tree(proc.pid) if p != proc.pid]
    return daemons, pods


def _store_body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    body["metadata"] = {"name": name}
    body["spec"]["gateway"] = {
        "enabled": True,
        "serviceType": "NodePort",
        "nodePort": NODE_PORT,
        # One client address (wrk): the store's per-address limit would refuse it.
        "rateLimit": {"requestsPerSecond": RAISED, "burst": RAISED},
        # One gateway Pod, as devstack has one nginx.
        "replicas": 1,
    }
    return body


def _wrk(wrk: Wrk, base: str, path: str) -> dict[str, Any]:
    """One path read over and over: a 3 s warm-up, then the measured run."""
    with tempfile.TemporaryDirectory() as folder:
        paths_file = write_paths([path], Path(folder) / "paths")
        run = partial(run_wrk, wrk.binary, base, paths_file, connections=WRK_CONNECTIONS)
        run(seconds=3)
        return run(seconds=WRK_SECONDS)


def _wait(what: str, probe: Any, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if probe():
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{what} not within {timeout:.0f} s")


C = TypeVar("C")


def _component(stack: Stack, name: str, kind: type[C]) -> C:
    component = stack.components[name]
    if not isinstance(component, kind):
        raise TypeError(f"{name} is a {type(component).__name__}, not a {kind.__name__}")
    return component


def _apply_and_wait(
    api: client.ApiClient, namespace: str, name: str, gateway: str, result: dict[str, Any]
) -> None:
    """Create the store; the seconds to the first search through its gateway, to Ready."""
    objects = client.CustomObjectsApi(api)
    started = time.monotonic()
    objects.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _store_body(name))
    first_search = _wait(
        "a search through the in-cluster gateway",
        lambda: (
            httpx.get(
                f"{gateway}/api/products/search", params={"q": "kettle"}, timeout=5
            ).status_code
            == 200
        ),
        READY_TIMEOUT,
    )
    result["apply_to_first_search_seconds"] = round(first_search, 1)

    def ready() -> bool:
        body = objects.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        return bool((body.get("status") or {}).get("phase") == "Ready")

    _wait("the store Ready", ready, READY_TIMEOUT)
    result["apply_to_ready_seconds"] = round(time.monotonic() - started, 1)


def _delete_store(api: client.ApiClient, paths: Paths, store: StoreRef) -> None:
    objects = client.CustomObjectsApi(api)
    objects.delete_namespaced_custom_object(GROUP, VERSION, store.namespace, PLURAL, store.name)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        listed = objects.list_namespaced_custom_object(GROUP, VERSION, store.namespace, PLURAL)
        if not listed["items"]:
            break
        time.sleep(1)
    client.CoreV1Api(api).delete_namespace(store.namespace)
    cassandra_auth.drop_keyspaces_with_prefix(
        paths, "127.0.0.1", 9042, f"{naming.keyspace(store)}_"
    )


def _product(paths: Paths, store: StoreRef, gateway: str) -> str:
    """A product made by the store's first administrator through the gateway; its id."""
    token = (paths.component_dir("openbao") / "root-token").read_text().strip()
    secret = httpx.get(
        f"http://127.0.0.1:8200/v1/secret/data/"
        f"{naming.vault_store_path(SAMPLE_KV_PATH, store)}/auth/first-admin",
        headers={"X-Vault-Token": token},
        timeout=10,
    ).json()["data"]["data"]
    with httpx.Client(base_url=gateway, timeout=30) as http:
        login = http.post(
            "/api/auth/login",
            json={"email": "admin@productstore.local", "password": secret["password"]},
        )
        login.raise_for_status()
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        http.post(
            "/api/categories",
            headers=admin,
            json={"slug": "kitchen", "name": "Kitchen", "description": "Kettles"},
        ).raise_for_status()
        created = http.post(
            "/api/products",
            headers=admin,
            json={
                "name": "Glass kettle",
                "description": "1.7 l",
                "category": "kitchen",
                "price": "24.90",
                "currency": "EUR",
            },
        )
        created.raise_for_status()
        return str(created.json()["id"])


def _reads(stack: Stack, paths: Paths, gateway: str, product: str, result: dict[str, Any]) -> None:
    """wrk through the in-cluster gateway, then devstack's, each limit raised."""
    seeded = httpx.get(
        f"{DEVSTACK_GATEWAY}/api/products/search", params={"limit": 1}, timeout=10
    ).json()["items"][0]["id"]
    wrk = _component(stack, "wrk", Wrk)
    nginx = _component(stack, "nginx", Nginx)
    Nginx(Context(paths=paths, options=DEVSTACK_LIMITS)).after_ready()
    nginx.reload()
    try:
        time.sleep(1)  # the workers switch over asynchronously
        in_cluster = _wrk(wrk, gateway, f"/api/products/{product}")
        on_host = _wrk(wrk, DEVSTACK_GATEWAY, f"/api/products/{seeded}")
    finally:
        nginx.after_ready()  # devstack's limits back
        nginx.reload()
    result["catalog_read_in_cluster_gateway"] = in_cluster
    result["catalog_read_devstack_gateway"] = on_host
    result["catalog_read_rps_ratio_in_cluster_to_devstack"] = round(
        in_cluster["requests_per_second"] / max(on_host["requests_per_second"], 1e-9), 3
    )
    result["catalog_read_p99_ratio_in_cluster_to_devstack"] = round(
        in_cluster["p99_ms"] / max(on_host["p99_ms"], 1e-9), 3
    )


def main() -> None:
    paths = Paths.from_env()
    stack = Stack(Context(paths=paths))
    node = _component(stack, "node", Node)
    result: dict[str, Any] = {"benchmark": "node-store", "load_before": psutil.getloadavg()}
    with ExitStack() as cleanup:
        if stack.is_running(node):
            result["node_warm_up_seconds"] = None
            result["node_note"] = "the node was running: warm start not measured"
        else:
            started = time.monotonic()
            stack.up(["node"])
            result["node_warm_up_seconds"] = round(time.monotonic() - started, 1)
            cleanup.callback(stack.down, ["node"], dependents=False)
        daemons, _ = _node_daemons(node)
        result["node_daemons_rss_mb"] = _rss_mb(daemons)

        kubeconfig = paths.component_dir("kube-apiserver") / "admin.kubeconfig"
        api = config.new_client_from_config(config_file=str(kubeconfig))
        cleanup.callback(api.close)
        store = StoreRef("bench", f"store-bench-{uuid.uuid4().hex[:8]}")
        client.CoreV1Api(api).create_namespace({"metadata": {"name": store.namespace}})
        client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(
            store.namespace, grant_object(store.namespace)
        )
        cleanup.callback(_delete_store, api, paths, store)
        gateway = f"http://{NODE_IP}:{NODE_PORT}"
        _apply_and_wait(api, store.namespace, store.name, gateway, result)
        _, pods = _node_daemons(node)
        result["store_pods_rss_mb"] = _rss_mb(pods)
        _reads(stack, paths, gateway, _product(paths, store, gateway), result)
        result["load_after"] = psutil.getloadavg()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
