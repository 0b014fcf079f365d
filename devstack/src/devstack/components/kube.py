"""A local Kubernetes control plane: etcd, kube-apiserver, controller-manager, scheduler, kwok.

Everything is built from Go modules (see kube_build) and runs as plain
processes on 127.0.0.1. There is no kubelet: kwok plays the node, marking a
fake Node Ready and the Pods scheduled onto it Running, so controllers,
operators and Helm charts see a working cluster. Pod and node IPs are fake:
nothing listens on them, never connect to them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import httpx

from devstack import artifacts
from devstack.component import Component
from devstack.components import kube_build
from devstack.components.kube_cluster import (
    APISERVER_NAME,
    APISERVER_PORT,
    CLUSTER_NAME,
    CONTROLLER_MANAGER_PORT,
    ETCD_CLIENT_PORT,
    ETCD_PEER_PORT,
    HOST,
    KWOK_NODE,
    KWOK_NODE_ANNOTATION,
    POD_CIDR,
    SCHEDULER_PORT,
    SERVER,
    SERVICE_ACCOUNT_ISSUER,
    SERVICE_CIDR,
    admin_api,
    ensure_node,
    healthz,
    install_crds,
    kubeconfig,
    node_ready,
    pki_files,
    write_client_kubeconfig,
)
from devstack.process import Endpoint, ProcessSpec

# The Kubernetes release the product targets; its staging modules are v0.34.4.
KUBERNETES_VERSION = "v1.34.4"
# etcd is not pinned here: it is the version k8s.io/kubernetes depends on (3.6.4).
# Newest kwok the Go proxy lists; needs Go >= 1.26.
KWOK_VERSION = "v0.8.0"
# Newest istio.io/api the Go proxy serves (Istio 1.32 CRDs).
ISTIO_API_VERSION = "v1.32.0"
# Newest k8ssandra-operator whose module zip the Go proxy serves (later tags: 403).
K8SSANDRA_OPERATOR_VERSION = "v1.21.0"
# The only prometheus-operator root-module version the Go proxy lists.
PROMETHEUS_OPERATOR_VERSION = "v0.85.0"

CRD_SOURCES: dict[str, tuple[str, list[str]]] = {
    "istio": (
        f"istio.io/api@{ISTIO_API_VERSION}",
        ["kubernetes/customresourcedefinitions.gen.yaml"],
    ),
    "k8ssandra": (
        f"github.com/k8ssandra/k8ssandra-operator@{K8SSANDRA_OPERATOR_VERSION}",
        ["config/crd/bases/*.yaml"],
    ),
    "prometheus-operator": (
        f"github.com/prometheus-operator/prometheus-operator@{PROMETHEUS_OPERATOR_VERSION}",
        [
            f"example/prometheus-operator-crd/monitoring.coreos.com_{kind}.yaml"
            for kind in ("servicemonitors", "podmonitors", "prometheusrules", "alertmanagerconfigs")
        ],
    ),
}
_CRD_FINGERPRINT = repr(sorted(CRD_SOURCES.items()))


class _ControlPlane(Component):
    """Shared by the processes built from k8s.io/kubernetes (and etcd)."""

    start_hint = "check the log; `devstack down kube` then `devstack up kube` restarts cleanly"

    @property
    def artifact_dir(self) -> Path:
        return self.paths.artifacts / f"kubernetes-{KUBERNETES_VERSION}"

    def binary(self, name: str) -> Path:
        return self.artifact_dir / "bin" / name

    def provision(self) -> bool:
        def build(tmp: Path) -> None:
            kube_build.build_control_plane(
                self.name,
                tmp,
                kubernetes_version=KUBERNETES_VERSION,
                build_dir=self.paths.builds / f"k8sbuild-{KUBERNETES_VERSION}",
                download_dir=self.paths.builds / "go-download",
                log_file=self.provision_log,
            )

        return artifacts.ensure(
            self.name,
            self.artifact_dir,
            kube_build.control_plane_fingerprint(KUBERNETES_VERSION),
            build,
            verify_hashes=self.ctx.verify,
        )


class Etcd(_ControlPlane):
    name = "etcd"
    description = f"etcd (Kubernetes {KUBERNETES_VERSION}'s) on {HOST}:{ETCD_CLIENT_PORT}"
    default = True
    requires = ()
    ready_timeout = 30.0

    def endpoints(self) -> dict[str, Endpoint]:
        return {"client": Endpoint(HOST, ETCD_CLIENT_PORT), "peer": Endpoint(HOST, ETCD_PEER_PORT)}

    @property
    def range_record(self) -> Path:
        """The Service range the data in data/ was made with."""
        return self.state_dir / "service-cidr"

    def prepare(self) -> None:
        data = self.state_dir / "data"
        # The apiserver stores the range (the default ServiceCIDR object) and the
        # `kubernetes` Service's IP in etcd and never moves them. The data is
        # throwaway (the CRDs, the operator's objects and the fake node come back
        # on start), so a changed range starts from an empty etcd rather than a
        # migration. Data without a record predates the record: 10.0.0.0/24.
        recorded = self.range_record.read_text().strip() if self.range_record.exists() else None
        if recorded != SERVICE_CIDR and data.exists() and any(data.iterdir()):
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            with self.log_file.open("a") as log:
                log.write(
                    f"devstack: the Service range changed ({recorded or 'unrecorded'} -> "
                    f"{SERVICE_CIDR}): etcd starts from empty data\n"
                )
            shutil.rmtree(data)
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.write_generated(self.range_record, SERVICE_CIDR + "\n")

    def processes(self) -> list[ProcessSpec]:
        client = f"http://{HOST}:{ETCD_CLIENT_PORT}"
        peer = f"http://{HOST}:{ETCD_PEER_PORT}"
        return [
            ProcessSpec(
                name=self.name,
                argv=[
                    str(self.binary("etcd")),
                    "--name=devstack",
                    f"--data-dir={self.state_dir / 'data'}",
                    f"--listen-client-urls={client}",
                    f"--advertise-client-urls={client}",
                    f"--listen-peer-urls={peer}",
                    f"--initial-advertise-peer-urls={peer}",
                    f"--initial-cluster=devstack={peer}",
                    # Throwaway dev data: skipping fsync keeps the apiserver fast on
                    # slow shared disks.
                    "--unsafe-no-fsync",
                    # Room for big CRDs (K8ssandraCluster is ~2 MB) with their managedFields.
                    "--max-request-bytes=10485760",
                    "--log-level=warn",
                ],
            )
        ]

    def ready(self) -> bool:
        # /health does a linearizable read through raft: a real round trip.
        response = httpx.get(f"http://{HOST}:{ETCD_CLIENT_PORT}/health", timeout=2)
        return response.status_code == 200 and response.json().get("health") == "true"

    def env(self) -> dict[str, str]:
        return {"ETCDCTL_ENDPOINTS": f"http://{HOST}:{ETCD_CLIENT_PORT}"}


class KubeApiserver(_ControlPlane):
    name = APISERVER_NAME
    description = f"kube-apiserver {KUBERNETES_VERSION} on {SERVER}"
    requires = ("etcd",)
    ready_timeout = 120.0

    # --- what clients need ------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        """Cluster-admin kubeconfig (stable path; certificates inlined)."""
        return kubeconfig(self.paths, "admin")

    @property
    def ca_cert(self) -> Path:
        return pki_files(self.paths).ca_cert

    @property
    def server(self) -> str:
        return SERVER

    @property
    def kubectl(self) -> Path:
        return self.binary("kubectl")

    @property
    def crd_dir(self) -> Path:
        return self.paths.artifacts / "kube-crds"

    # --- hooks ------------------------------------------------------------
    def provision(self) -> bool:
        did = super().provision()

        def fetch(tmp: Path) -> None:
            kube_build.fetch_crds(
                self.name,
                tmp,
                sources=CRD_SOURCES,
                download_dir=self.paths.builds / "go-download",
                log_file=self.provision_log,
            )

        did |= artifacts.ensure(
            self.name, self.crd_dir, _CRD_FINGERPRINT, fetch, verify_hashes=self.ctx.verify
        )
        self._link_kubectl()
        return did

    def _link_kubectl(self) -> None:
        """Also offer kubectl in the cache's bin/ for people who put it on PATH."""
        link = self.paths.bin / "kubectl"
        with contextlib.suppress(OSError):
            if link.is_symlink() and link.readlink() == self.kubectl:
                return
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(f".kubectl.tmp-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.kubectl)
        tmp.replace(link)

    def endpoints(self) -> dict[str, Endpoint]:
        return {"https": Endpoint(HOST, APISERVER_PORT)}

    def prepare(self) -> None:
        for client in ("admin", "kube-controller-manager", "kube-scheduler", "kwok"):
            write_client_kubeconfig(self.paths, client)

    def processes(self) -> list[ProcessSpec]:
        pki = pki_files(self.paths)
        return [
            ProcessSpec(
                name=self.name,
                argv=[
                    str(self.binary("kube-apiserver")),
                    f"--etcd-servers=http://{HOST}:{ETCD_CLIENT_PORT}",
                    f"--bind-address={HOST}",
                    f"--advertise-address={HOST}",
                    f"--secure-port={APISERVER_PORT}",
                    f"--tls-cert-file={pki.cert('apiserver')}",
                    f"--tls-private-key-file={pki.key('apiserver')}",
                    f"--client-ca-file={pki.ca_cert}",
                    "--authorization-mode=Node,RBAC",
                    "--allow-privileged=true",
                    "--enable-admission-plugins=NodeRestriction",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                    f"--api-audiences={SERVICE_ACCOUNT_ISSUER}",
                    f"--service-account-key-file={pki.sa_pub}",
                    f"--service-account-signing-key-file={pki.sa_key}",
                    # Aggregated APIs (metrics-server, ...) authenticate the apiserver so.
                    f"--requestheader-client-ca-file={pki.cert('front-proxy-ca')}",
                    "--requestheader-allowed-names=front-proxy-client",
                    "--requestheader-username-headers=X-Remote-User",
                    "--requestheader-group-headers=X-Remote-Group",
                    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                    f"--proxy-client-cert-file={pki.cert('front-proxy-client')}",
                    f"--proxy-client-key-file={pki.key('front-proxy-client')}",
                    # Logs, exec and port-forward reach a real kubelet at its node IP,
                    # presenting a client certificate the kubelet checks against the CA.
                    "--kubelet-preferred-address-types=InternalIP,Hostname",
                    f"--kubelet-client-certificate={pki.cert('apiserver-kubelet-client')}",
                    f"--kubelet-client-key={pki.key('apiserver-kubelet-client')}",
                    # Endpoints may not hold a loopback IP: without this the
                    # apiserver would retry publishing itself forever.
                    "--endpoint-reconciler-type=none",
                    "--profiling=false",
                ],
            )
        ]

    def ready(self) -> bool:
        with admin_api(self.paths) as api:
            response = api.get("/readyz")
        return response.status_code == 200 and response.text == "ok"

    def after_ready(self) -> None:
        install_crds(
            self.name,
            self.paths,
            kubectl=self.kubectl,
            crd_dirs=[self.crd_dir / name for name in CRD_SOURCES],
            fingerprint=_CRD_FINGERPRINT,
            log_file=self.log_file,
        )

    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": str(self.kubeconfig), "KUBECTL": str(self.kubectl)}


class _SecureClient(_ControlPlane):
    """A control-plane process that talks to the apiserver with its own client
    certificate and serves /healthz on a secure port (controller-manager, scheduler).
    """

    requires = ("kube-apiserver",)
    ready_timeout = 60.0
    port: int

    def endpoints(self) -> dict[str, Endpoint]:
        return {"https": Endpoint(HOST, self.port)}

    def prepare(self) -> None:
        write_client_kubeconfig(self.paths, self.name)

    def common_args(self) -> list[str]:
        config = kubeconfig(self.paths, self.name)
        return [
            str(self.binary(self.name)),
            f"--kubeconfig={config}",
            f"--authentication-kubeconfig={config}",
            f"--authorization-kubeconfig={config}",
            f"--bind-address={HOST}",
            f"--secure-port={self.port}",
            # One instance of each: no election wait at start-up.
            "--leader-elect=false",
            "--profiling=false",
        ]

    def ready(self) -> bool:
        return healthz(self.port)


class KubeControllerManager(_SecureClient):
    name = "kube-controller-manager"
    description = (
        f"kube-controller-manager {KUBERNETES_VERSION} (https {HOST}:{CONTROLLER_MANAGER_PORT})"
    )
    port = CONTROLLER_MANAGER_PORT

    def processes(self) -> list[ProcessSpec]:
        pki = pki_files(self.paths)
        return [
            ProcessSpec(
                name=self.name,
                argv=[
                    *self.common_args(),
                    f"--cluster-name={CLUSTER_NAME}",
                    "--controllers=*",
                    # Each controller acts as its own service account (least privilege).
                    "--use-service-account-credentials=true",
                    f"--service-account-private-key-file={pki.sa_key}",
                    f"--root-ca-file={pki.ca_cert}",
                    f"--client-ca-file={pki.ca_cert}",
                    f"--requestheader-client-ca-file={pki.cert('front-proxy-ca')}",
                    # CSRs (e.g. from cert-manager style operators) are signed by the cluster CA.
                    f"--cluster-signing-cert-file={pki.ca_cert}",
                    f"--cluster-signing-key-file={pki.ca_key}",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                ],
            )
        ]


class KubeScheduler(_SecureClient):
    name = "kube-scheduler"
    description = f"kube-scheduler {KUBERNETES_VERSION} (https {HOST}:{SCHEDULER_PORT})"
    port = SCHEDULER_PORT

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec(name=self.name, argv=self.common_args())]


class Kwok(Component):
    name = "kwok"
    description = f"kwok {KWOK_VERSION}: fake node {KWOK_NODE} on which Pods become Running"
    requires = ("kube-apiserver",)
    ready_timeout = 60.0
    start_hint = "check the kwok log and that kube-apiserver is up (`devstack status`)"

    @property
    def artifact_dir(self) -> Path:
        return self.paths.artifacts / f"kwok-{KWOK_VERSION}"

    def provision(self) -> bool:
        def build(tmp: Path) -> None:
            kube_build.build_kwok(
                self.name,
                tmp,
                kwok_version=KWOK_VERSION,
                download_dir=self.paths.builds / "go-download",
                log_file=self.provision_log,
            )

        return artifacts.ensure(
            self.name,
            self.artifact_dir,
            f"kwok={KWOK_VERSION};stages={kube_build.KWOK_STAGES}",
            build,
            verify_hashes=self.ctx.verify,
        )

    def prepare(self) -> None:
        write_client_kubeconfig(self.paths, self.name)
        # Registered before kwok starts, so its first sync already marks it Ready.
        self._ensure_node()

    def processes(self) -> list[ProcessSpec]:
        key, value = KWOK_NODE_ANNOTATION
        return [
            ProcessSpec(
                name=self.name,
                argv=[
                    str(self.artifact_dir / "bin" / "kwok"),
                    f"--kubeconfig={kubeconfig(self.paths, self.name)}",
                    f"--config={self.artifact_dir / 'stages.yaml'}",
                    "--manage-all-nodes=false",
                    f"--manage-nodes-with-annotation-selector={key}={value}",
                    "--disregard-status-with-annotation-selector=kwok.x-k8s.io/status=custom",
                    f"--cidr={POD_CIDR}",
                    # Anything that dials the "kubelet" reaches loopback, never the network.
                    f"--node-ip={HOST}",
                    "--node-lease-duration-seconds=40",
                ],
            )
        ]

    def ready(self) -> bool:
        return node_ready(self.paths)

    def after_ready(self) -> None:
        self._ensure_node()

    def _ensure_node(self) -> None:
        ensure_node(
            self.name, self.paths, kubelet_version=KUBERNETES_VERSION, log_file=self.log_file
        )
