"""Addresses of the local control plane and the calls devstack makes to it.

Shared by the kube components: where the PKI and kubeconfigs live, an admin
REST client, health probes, the fake kwok node and the third-party CRDs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from devstack.artifacts import run
from devstack.components.kube_certs import Pki, ensure_pki, write_kubeconfig
from devstack.errors import DevstackError
from devstack.paths import Paths

HOST = "127.0.0.1"
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
APISERVER_PORT = 6443
CONTROLLER_MANAGER_PORT = 10257
SCHEDULER_PORT = 10259
SERVER = f"https://{HOST}:{APISERVER_PORT}"
CLUSTER_NAME = "devstack"
# Every cluster address is in 198.18.0.0/15 (RFC 2544, reserved for testing), never
# in 10/8, 172.16/12 or 192.168/16: nothing here can look like someone's network.
# Services take its upper half (ADR 0029); etcd records the range it was started
# with and starts empty when it changes (see Etcd.prepare).
SERVICE_CIDR = "198.19.0.0/16"
KUBERNETES_SERVICE_IP = "198.19.0.1"
# The cluster DNS (CoreDNS, run by the real node) at a fixed ClusterIP.
DNS_SERVICE_IP = "198.19.0.10"
CLUSTER_DOMAIN = "cluster.local"
SERVICE_ACCOUNT_ISSUER = f"https://kubernetes.default.svc.{CLUSTER_DOMAIN}"
# The real node's Pods (node.py; its CNI bridge) ...
NODE_POD_CIDR = "198.18.0.0/24"
# ... and the fake IPs kwok hands to the Pods on its fake node: nothing listens on
# them, and the real node routes the whole of 198.18.0.0/15 nowhere but its bridge.
POD_CIDR = "198.18.128.0/17"
KWOK_NODE = "kwok-node-0"
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")

APISERVER_NAME = "kube-apiserver"
# Records in the cluster which CRD set is installed, so a restart skips re-applying.
_CRD_MARKER = "/api/v1/namespaces/kube-system/configmaps/devstack-crds"


def kube_dir(paths: Paths) -> Path:
    """Shared state of the control plane: PKI and kubeconfigs (kept across restarts)."""
    return paths.component_dir(APISERVER_NAME)


def pki_files(paths: Paths) -> Pki:
    """Where the PKI is, without creating it (for argv lists)."""
    return Pki(kube_dir(paths) / "pki")


def pki(paths: Paths) -> Pki:
    """The PKI, created on first use."""
    return ensure_pki(
        kube_dir(paths) / "pki",
        apiserver_dns_names=[
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
        ],
        apiserver_ips=[HOST, KUBERNETES_SERVICE_IP],
    )


def kubeconfig(paths: Paths, client: str) -> Path:
    return kube_dir(paths) / f"{client}.kubeconfig"


def write_client_kubeconfig(paths: Paths, client: str) -> Path:
    path = kubeconfig(paths, client)
    write_kubeconfig(path, pki=pki(paths), client=client, server=SERVER, cluster=CLUSTER_NAME)
    return path


def admin_api(paths: Paths) -> httpx.Client:
    """REST client for the apiserver as cluster admin (verifies the server cert).

    Uses the existing PKI only: a status probe must not create certificates.
    """
    ctx = pki_files(paths).client_ssl_context("admin")
    return httpx.Client(base_url=SERVER, verify=ctx, timeout=10)


def server_side_apply(
    paths: Paths,
    component: str,
    objects: Sequence[tuple[str, dict[str, Any]]],
    *,
    hint: str = "check `devstack logs kube-apiserver`",
) -> None:
    """Apply (url, body) pairs as the component's field manager, taking over fields
    another manager set (devstack owns these objects)."""
    with admin_api(paths) as api:
        for url, body in objects:
            response = api.patch(
                url,
                params={"fieldManager": f"devstack-{component}", "force": "true"},
                json=body,
                headers={"Content-Type": "application/apply-patch+yaml"},
            )
            if not response.is_success:
                raise DevstackError(
                    component,
                    f"applying {url} failed: HTTP {response.status_code} {response.text[:300]}",
                    hint=hint,
                )


def healthz(port: int) -> bool:
    # The controller-manager and scheduler serve a self-signed cert of their own.
    response = httpx.get(f"https://{HOST}:{port}/healthz", verify=False, timeout=2)  # noqa: S501
    return response.status_code == 200 and response.text == "ok"


def _check(component: str, response: httpx.Response, what: str, log_file: Path) -> None:
    if response.is_success:
        return
    raise DevstackError(
        component,
        f"{what} failed: HTTP {response.status_code} {response.text[:300]}",
        log_file=log_file,
        hint="check the kube-apiserver log (`devstack logs kube-apiserver`)",
    )


def ensure_node(component: str, paths: Paths, *, kubelet_version: str, log_file: Path) -> None:
    """Create the fake node unless it exists (its status then belongs to kwok)."""
    key, value = KWOK_NODE_ANNOTATION
    resources = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": KWOK_NODE,
            "annotations": {key: value, "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": KWOK_NODE,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "spec": {},
        "status": {
            "allocatable": resources,
            "capacity": resources,
            # Anything that dials the "kubelet" reaches loopback, never the network.
            "addresses": [
                {"type": "InternalIP", "address": HOST},
                {"type": "Hostname", "address": KWOK_NODE},
            ],
            "nodeInfo": {"kubeletVersion": kubelet_version, "architecture": "amd64"},
        },
    }
    with admin_api(paths) as api:
        response = api.post("/api/v1/nodes", json=node)
    if response.status_code != 409:  # 409: it exists already
        _check(component, response, f"creating node {KWOK_NODE}", log_file)


def node_ready(paths: Paths) -> bool:
    with admin_api(paths) as api:
        response = api.get(f"/api/v1/nodes/{KWOK_NODE}")
    if response.status_code != 200:
        return False
    conditions: list[dict[str, Any]] = response.json().get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def install_crds(
    component: str,
    paths: Paths,
    *,
    kubectl: Path,
    crd_dirs: Sequence[Path],
    fingerprint: str,
    log_file: Path,
) -> None:
    """Apply CRD manifests once per fingerprint and wait until they are Established.

    Server-side apply: the biggest CRDs exceed the annotation size limit of
    client-side apply.
    """
    with admin_api(paths) as api:
        marker = api.get(_CRD_MARKER)
    if marker.status_code == 200 and marker.json().get("data", {}).get("fingerprint") == (
        fingerprint
    ):
        return
    files = [arg for crd_dir in crd_dirs for arg in ("-f", str(crd_dir))]
    base = [str(kubectl), f"--kubeconfig={kubeconfig(paths, 'admin')}"]
    hint = "check the kube-apiserver log; `devstack down kube --purge` starts from scratch"
    apply = ["apply", "--server-side", "--force-conflicts", "--field-manager=devstack"]
    run(component, [*base, *apply, *files], log_file=log_file, hint=hint, timeout=300)
    wait = ["wait", "--for=condition=Established", "--timeout=120s"]
    run(component, [*base, *wait, *files], log_file=log_file, hint=hint, timeout=180)
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "devstack-crds", "namespace": "kube-system"},
        "data": {"fingerprint": fingerprint},
    }
    with admin_api(paths) as api:
        response = api.patch(
            _CRD_MARKER,
            params={"fieldManager": "devstack", "force": "true"},
            json=body,
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
    _check(component, response, "recording the installed CRDs", log_file)
