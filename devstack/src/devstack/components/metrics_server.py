"""metrics-server, the resource metrics API (`metrics.k8s.io`) the HPAs read, beside the
real node: built from its Go module (`go install`, like the other Go tools) and run as a
host process on the node's address, as CoreDNS is (node.py).

Off unless named (`devstack up metrics-server`), since it requires the real node, whose
kubelet it scrapes (`/metrics/resource` on NODE_IP:10250). What it adds to the cluster,
and `down` deletes again (objects labelled `app.kubernetes.io/managed-by: devstack`):

- its RBAC: the user `system:devstack:metrics-server` (a client certificate from the
  cluster CA, kube_certs.CLIENTS) reads nodes and Pods and `nodes/metrics` (the kubelet
  asks the apiserver, its authorization webhook), delegates authentication and
  authorization (`system:auth-delegator`) and reads the front-proxy CA from
  `kube-system/extension-apiserver-authentication`;
- the Service `kube-system/metrics-server` (443, no selector) with an EndpointSlice
  naming NODE_IP:SECURE_PORT, and the APIService `v1beta1.metrics.k8s.io` pointing at
  it with the cluster CA as its caBundle: the aggregator checks the serving certificate
  (issued here from the cluster CA for `metrics-server.kube-system.svc`), never
  `insecureSkipTLSVerify`. The APIService is applied once the server answers and
  deleted first on `down`: an unavailable aggregated API fails discovery (helm, the
  namespace controller) while it is registered;
- towards the kubelet it presents the same client certificate and verifies the
  kubelet's serving certificate against the cluster CA when that certificate chains to
  it and names NODE_IP (a node started with node.py's `kubelet-serving` certificate).
  A kubelet serving the self-signed certificate it makes itself (the name
  `devstack-node-0` only, its own throw-away CA: nodes started before that change) cannot
  be verified at the address metrics-server dials, so it then runs with
  `--kubelet-insecure-tls` and says so in its log (ADR 0038).
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import time
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx

from devstack.components.kube_certs import REAL_NODE_NAME, ensure_serving_cert
from devstack.components.kube_cluster import (
    CLUSTER_DOMAIN,
    admin_api,
    kubeconfig,
    pki,
    pki_files,
    server_side_apply,
    write_client_kubeconfig,
)
from devstack.errors import DevstackError
from devstack.go_tool import GoTool
from devstack.node_address import NODE_IP, has_node_address
from devstack.process import Endpoint, ProcessSpec

METRICS_SERVER_VERSION = "v0.8.0"
_VERSION_PACKAGE = "k8s.io/client-go/pkg/version"
# What `--version` prints (client-go's version, as the project's Makefile sets it).
LDFLAGS = (
    f"-s -w -X {_VERSION_PACKAGE}.gitVersion={METRICS_SERVER_VERSION} "
    f"-X {_VERSION_PACKAGE}.gitCommit=release -X {_VERSION_PACKAGE}.gitTreeState=clean"
)

# On the node's address, where the aggregator reaches it through the Service. Its
# health (`/livez`, `/readyz`) is served on the same port: metrics-server has no
# separate health listener, so it cannot be on loopback alone.
SECURE_PORT = 4443
NAMESPACE = "kube-system"
SERVICE = "metrics-server"
API_GROUP = "metrics.k8s.io"
API_VERSION = "v1beta1"
API_SERVICE = f"{API_VERSION}.{API_GROUP}"
USER = "system:devstack:metrics-server"
ROLE = "devstack:metrics-server"
# The kubelet it scrapes (node.py's; components are independent, a copy the tests hold
# equal): its port, and the label the real node registers with, so kwok's fake node
# (whose "kubelet" is nobody on loopback) is left out.
KUBELET_PORT = 10250
NODE_SELECTOR = "productstore.dev/node=real"
# Kubernetes' own HPA tutorials scrape every 15 s (the least it allows is 10 s).
METRIC_RESOLUTION = "15s"
SERVING_CERT = "metrics-server-serving"
LABELS = {"app.kubernetes.io/managed-by": "devstack", "k8s-app": SERVICE}


def serving_dns_names() -> list[str]:
    """The names the aggregator may check: it dials the Service, and verifies
    `<service>.<namespace>.svc`."""
    svc = f"{SERVICE}.{NAMESPACE}.svc"
    return [SERVICE, f"{SERVICE}.{NAMESPACE}", svc, f"{svc}.{CLUSTER_DOMAIN}"]


class MetricsServer(GoTool):
    name = "metrics-server"
    description = (
        f"metrics-server {METRICS_SERVER_VERSION} on {NODE_IP}:{SECURE_PORT} "
        f"(the metrics API {API_SERVICE}, scraping the real node's kubelet)"
    )
    # Scrapes the real node's kubelet.
    requires = ("node",)
    ready_timeout = 60.0
    start_hint = (
        "check `devstack logs metrics-server` and that the node runs (`devstack status node`)"
    )
    module = "sigs.k8s.io/metrics-server"
    command = "cmd/metrics-server"
    version = METRICS_SERVER_VERSION
    ldflags = LDFLAGS
    version_args = ("--version",)
    env_name = "METRICS_SERVER"

    def version_error(self, reported: str) -> str | None:
        if reported.strip() == METRICS_SERVER_VERSION:
            return None
        return f"built metrics-server reports {reported.strip()!r}, expected {self.version}"

    # --- trust ----------------------------------------------------------------
    @cached_property
    def kubelet_tls(self) -> str | None:
        """None when the kubelet's serving certificate verifies against the cluster CA
        at NODE_IP (metrics-server then verifies it); otherwise why not."""
        return kubelet_tls_problem(str(pki_files(self.paths).ca_cert))

    def _kubelet_tls_args(self) -> list[str]:
        if self.kubelet_tls is None:
            return [f"--kubelet-certificate-authority={pki_files(self.paths).ca_cert}"]
        return ["--kubelet-insecure-tls"]

    # --- the process ------------------------------------------------------------
    def endpoints(self) -> dict[str, Endpoint]:
        return {"https": Endpoint(NODE_IP, SECURE_PORT)}

    def processes(self) -> list[ProcessSpec]:
        files = pki_files(self.paths)
        config = kubeconfig(self.paths, "metrics-server")
        return [
            ProcessSpec(
                name=self.name,
                argv=[
                    str(self.binary),
                    f"--kubeconfig={config}",
                    f"--authentication-kubeconfig={config}",
                    f"--authorization-kubeconfig={config}",
                    f"--bind-address={NODE_IP}",
                    f"--secure-port={SECURE_PORT}",
                    f"--tls-cert-file={files.cert(SERVING_CERT)}",
                    f"--tls-private-key-file={files.key(SERVING_CERT)}",
                    # The node's InternalIP is NODE_IP (kubelet's --node-ip).
                    "--kubelet-preferred-address-types=InternalIP",
                    f"--kubelet-port={KUBELET_PORT}",
                    *self._kubelet_tls_args(),
                    f"--node-selector={NODE_SELECTOR}",
                    f"--metric-resolution={METRIC_RESOLUTION}",
                    "--v=1",
                ],
            )
        ]

    def prepare(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        write_client_kubeconfig(self.paths, "metrics-server")
        ensure_serving_cert(
            pki(self.paths),
            SERVING_CERT,
            common_name=f"{SERVICE}.{NAMESPACE}.svc",
            dns_names=serving_dns_names(),
            ip_addresses=[NODE_IP],
        )
        message = (
            "the kubelet's serving certificate verifies against the cluster CA"
            if self.kubelet_tls is None
            else f"NOT verifying the kubelet's serving certificate: {self.kubelet_tls}"
        )
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("a") as log:
            log.write(f"devstack: {message}\n")
        # Everything but the APIService: that one only once the server answers.
        self._apply(self._cluster_objects()[:-1])

    def ready(self) -> bool:
        # Its own readiness, over TLS checked as the aggregator will (the cluster CA).
        ctx = ssl.create_default_context(cafile=str(pki_files(self.paths).ca_cert))
        response = httpx.get(f"https://{NODE_IP}:{SECURE_PORT}/readyz", verify=ctx, timeout=2)
        return response.status_code == 200

    def after_ready(self) -> None:
        self._apply(self._cluster_objects()[-1:])
        deadline = time.monotonic() + 45
        conditions: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            with admin_api(self.paths) as api:
                got = api.get(f"/apis/apiregistration.k8s.io/v1/apiservices/{API_SERVICE}")
            conditions = got.json().get("status", {}).get("conditions") or []
            if any(c["type"] == "Available" and c["status"] == "True" for c in conditions):
                return
            time.sleep(0.5)
        raise DevstackError(
            self.name,
            f"the APIService {API_SERVICE} is not Available: {conditions}",
            log_file=self.log_file,
            hint="the apiserver reaches it through the Service's ClusterIP (kube-proxy's "
            "rules); check `devstack logs kube-apiserver` and `devstack logs kube-proxy`",
        )

    # --- what it adds to the cluster ------------------------------------------------
    def _cluster_objects(self) -> list[tuple[str, dict[str, Any]]]:
        """(URL to apply at, object), the APIService last; `down` deletes them."""
        rbac = "/apis/rbac.authorization.k8s.io/v1"
        rbac_group = "rbac.authorization.k8s.io"
        user = {"apiGroup": rbac_group, "kind": "User", "name": USER}

        def binding(kind: str, name: str, role_kind: str, role: str) -> dict[str, Any]:
            metadata: dict[str, Any] = {"name": name, "labels": LABELS}
            if kind == "RoleBinding":
                metadata["namespace"] = NAMESPACE
            return {
                "apiVersion": f"{rbac_group}/v1",
                "kind": kind,
                "metadata": metadata,
                "roleRef": {"apiGroup": rbac_group, "kind": role_kind, "name": role},
                "subjects": [user],
            }

        ports = [{"name": "https", "port": SECURE_PORT, "protocol": "TCP"}]
        ca_bundle = base64.b64encode(pki_files(self.paths).ca_cert.read_bytes()).decode()
        return [
            (
                f"{rbac}/clusterroles/{ROLE}",
                {
                    "apiVersion": f"{rbac_group}/v1",
                    "kind": "ClusterRole",
                    "metadata": {"name": ROLE, "labels": LABELS},
                    "rules": [
                        {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
                        {
                            "apiGroups": [""],
                            "resources": ["pods", "nodes"],
                            "verbs": ["get", "list", "watch"],
                        },
                    ],
                },
            ),
            (
                f"{rbac}/clusterrolebindings/{ROLE}",
                binding("ClusterRoleBinding", ROLE, "ClusterRole", ROLE),
            ),
            (
                f"{rbac}/clusterrolebindings/{ROLE}:auth-delegator",
                binding(
                    "ClusterRoleBinding",
                    f"{ROLE}:auth-delegator",
                    "ClusterRole",
                    "system:auth-delegator",
                ),
            ),
            (
                f"{rbac}/namespaces/{NAMESPACE}/rolebindings/{ROLE}:auth-reader",
                binding(
                    "RoleBinding",
                    f"{ROLE}:auth-reader",
                    "Role",
                    "extension-apiserver-authentication-reader",
                ),
            ),
            (
                # Who may view a namespace may read its Pods' metrics (kubectl top).
                f"{rbac}/clusterroles/{ROLE}:aggregated-reader",
                {
                    "apiVersion": f"{rbac_group}/v1",
                    "kind": "ClusterRole",
                    "metadata": {
                        "name": f"{ROLE}:aggregated-reader",
                        "labels": {
                            **LABELS,
                            f"{rbac_group}/aggregate-to-view": "true",
                            f"{rbac_group}/aggregate-to-edit": "true",
                            f"{rbac_group}/aggregate-to-admin": "true",
                        },
                    },
                    "rules": [
                        {
                            "apiGroups": [API_GROUP],
                            "resources": ["pods", "nodes"],
                            "verbs": ["get", "list", "watch"],
                        }
                    ],
                },
            ),
            (
                f"/api/v1/namespaces/{NAMESPACE}/services/{SERVICE}",
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": SERVICE, "namespace": NAMESPACE, "labels": LABELS},
                    "spec": {
                        "ports": [
                            {
                                "name": "https",
                                "port": 443,
                                "targetPort": SECURE_PORT,
                                "protocol": "TCP",
                            }
                        ]
                    },
                },
            ),
            (
                f"/apis/discovery.k8s.io/v1/namespaces/{NAMESPACE}/endpointslices/{SERVICE}-node",
                {
                    "apiVersion": "discovery.k8s.io/v1",
                    "kind": "EndpointSlice",
                    "metadata": {
                        "name": f"{SERVICE}-node",
                        "namespace": NAMESPACE,
                        "labels": {
                            **LABELS,
                            "kubernetes.io/service-name": SERVICE,
                            "endpointslice.kubernetes.io/managed-by": "devstack",
                        },
                    },
                    "addressType": "IPv4",
                    "endpoints": [
                        {
                            "addresses": [NODE_IP],
                            "conditions": {"ready": True},
                            "nodeName": REAL_NODE_NAME,
                        }
                    ],
                    "ports": ports,
                },
            ),
            (
                f"/apis/apiregistration.k8s.io/v1/apiservices/{API_SERVICE}",
                {
                    "apiVersion": "apiregistration.k8s.io/v1",
                    "kind": "APIService",
                    "metadata": {"name": API_SERVICE, "labels": LABELS},
                    "spec": {
                        "group": API_GROUP,
                        "version": API_VERSION,
                        "service": {"namespace": NAMESPACE, "name": SERVICE, "port": 443},
                        # The aggregator verifies the serving certificate with this.
                        "caBundle": ca_bundle,
                        "insecureSkipTLSVerify": False,
                        "groupPriorityMinimum": 100,
                        "versionPriority": 100,
                    },
                },
            ),
        ]

    def _apply(self, objects: list[tuple[str, dict[str, Any]]]) -> None:
        server_side_apply(self.paths, self.name, objects)

    def _delete(self, *, api_service_only: bool) -> None:
        objects = self._cluster_objects()
        with contextlib.suppress(Exception), admin_api(self.paths) as api:
            for url, _ in reversed(objects[-1:] if api_service_only else objects):
                api.delete(url)

    def before_stop(self) -> None:
        # Unregister the API before the server goes: never an unavailable APIService.
        self._delete(api_service_only=True)

    def after_stop(self) -> None:
        if pki_files(self.paths).ca_cert.exists():
            self._delete(api_service_only=False)


def kubelet_tls_problem(ca_file: str, host: str = NODE_IP, port: int = KUBELET_PORT) -> str | None:
    """None when the kubelet at host:port presents a certificate that chains to ca_file
    and names host (as metrics-server checks it); else what is wrong with it."""
    if host == NODE_IP and not has_node_address():
        # A connection would leave the machine: nothing of ours is there.
        return f"{NODE_IP} is not on this machine (node-net is down)"
    if not Path(ca_file).is_file():
        # A stack whose control plane never ran here (a test's state directory, say).
        return f"there is no cluster CA at {ca_file} to verify it with"
    ctx = ssl.create_default_context(cafile=ca_file)
    try:
        with (
            socket.create_connection((host, port), timeout=3) as raw,
            ctx.wrap_socket(raw, server_hostname=host),
        ):
            return None
    except ssl.SSLCertVerificationError as exc:
        return (
            f"it does not verify at {host} ({exc.verify_message}): the kubelet serves "
            "the self-signed certificate it made itself, for its name only (a node "
            "started before node.py issued `kubelet-serving` from the cluster CA; "
            "`devstack down node && devstack up node` gives it that one)"
        )
    except OSError as exc:
        return f"the kubelet at {host}:{port} does not answer TLS: {exc}"
