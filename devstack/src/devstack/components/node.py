"""A real Kubernetes node joined to devstack's apiserver: containerd, runc, CNI, kubelet,
kube-proxy and CoreDNS.

In `all` (make up, make test; ADR 0041): it changes the machine while it runs (a
bridge, firewall rules, kernel settings, mounts) and `down` undoes all of it. Every
address it uses is reserved for testing and stays on this machine:

- the node: 198.51.100.1/24 (TEST-NET-2) on `psnode0`, a bridge with no ports
  (this kernel has no dummy links). TEST-NET-1
  (192.0.2.0/24) is this VM's own uplink and gateway, so it is not used here;
- the Pods: 198.18.0.0/24 (inside 198.18.0.0/15) on the CNI bridge `pspods0`,
  gateway 198.18.0.1 (the bridge plugin wants no other address on its bridge);
- the Services: 198.19.0.0/16 (kube_cluster.SERVICE_CIDR), made real by kube-proxy
  (iptables); the cluster DNS is CoreDNS on 198.51.100.1:53, a host process, behind
  the Service kube-system/kube-dns at 198.19.0.10.

The node registers with the taint TAINT, so only Pods that tolerate it (the
node's own tests) land on it; kwok's fake node keeps everything else. `down`
cordons and drains it, stops kubelet, containerd, kube-proxy and CoreDNS, deletes
the Node object and the kube-dns Service, and removes what they left (mounts,
network namespaces, the bridge, the CNI plugins' and kube-proxy's firewall chains,
cgroups), and puts back the kernel settings it found.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

from devstack import artifacts
from devstack.component import Component
from devstack.components import kube_build, node_build
from devstack.components.coredns import CoreDns
from devstack.components.kube_certs import REAL_NODE_NAME, ensure_serving_cert
from devstack.components.kube_cluster import (
    CLUSTER_DOMAIN,
    CLUSTER_NAME,
    DNS_SERVICE_IP,
    NODE_POD_CIDR,
    SERVICE_CIDR,
    admin_api,
    kubeconfig,
    pki,
    pki_files,
    server_side_apply,
    write_client_kubeconfig,
)
from devstack.components.kube_cluster import POD_CIDR as KWOK_POD_CIDR
from devstack.errors import DevstackError
from devstack.node_address import KAFKA_PODS_PORT, NODE_IP, NODE_LINK, RELAYED, has_node_address
from devstack.process import Endpoint, ProcessSpec
from productstore_contracts.services import DESCRIPTORS

REPO = Path(__file__).resolve().parents[4]

# The control plane's version (kube.py's; components are independent, so a copy
# that tests/devstack/test_node_component.py holds equal): a kubelet never newer.
KUBERNETES_VERSION = "v1.34.4"
# The helm component's version (the same kind of copy): the operator image's helm.
HELM_VERSION = "v3.22.0"

NODE_NAME = REAL_NODE_NAME
BRIDGE = "pspods0"
POD_SUBNET = NODE_POD_CIDR
POD_GATEWAY = "198.18.0.1"
TAINT_KEY = "productstore.dev/real-node"
TAINT = {"key": TAINT_KEY, "value": "true", "effect": "NoSchedule"}
KUBELET_PORT = 10250
KUBELET_HEALTHZ_PORT = 10248
KUBE_PROXY_METRICS_PORT = 10249
KUBE_PROXY_HEALTHZ_PORT = 10256
# CoreDNS answers on the node address (Pods reach it through the kube-dns
# Service); its health and readiness on loopback.
DNS_PORT = 53
COREDNS_HEALTH_PORT = 10281
COREDNS_READY_PORT = 10282
DNS_SERVICE = "kube-dns"
# CoreDNS's read access to the cluster (its kubeconfig's user, kube_certs.CLIENTS).
COREDNS_USER = "system:devstack:coredns"
COREDNS_ROLE = "devstack:coredns"
# kubelet's serving certificate, from the cluster CA for the node's name and address, so
# a client that dials NODE_IP (metrics-server) can verify it; without one kubelet makes
# a self-signed certificate for its name only.
KUBELET_SERVING_CERT = "kubelet-serving"
# devstack's dependencies by name for Pods: selector-less Services in this namespace
# (`redis.devstack.svc.cluster.local`, ...), each with an EndpointSlice naming NODE_IP,
# where node-net relays to them (Kafka: its own PODS listener). {service: {port name:
# (the Service's port, the port on NODE_IP)}}.
DEPENDENCY_NAMESPACE = "devstack"
DEPENDENCY_SERVICES: dict[str, dict[str, tuple[int, int]]] = {
    "cassandra": {"cql": (RELAYED["cassandra"],) * 2},
    "redis": {"redis": (RELAYED["redis"],) * 2},
    "openbao": {"http": (RELAYED["openbao"],) * 2},
    "otlp": {"grpc": (RELAYED["otlp-grpc"],) * 2, "http": (RELAYED["otlp-http"],) * 2},
    "kafka": {"kafka": (9092, KAFKA_PODS_PORT)},
}

# Images built from services/Dockerfile and operator/Dockerfile, named as the chart
# names them (<registry>/productstore-<name>:<store version>, the operator's
# builders.values.IMAGE_PREFIX), so a store with image.registry IMAGE_REGISTRY and
# pullPolicy Never runs them (there is no registry to pull from).
IMAGE_REGISTRY = "localhost/productstore"
IMAGE_PREFIX = "productstore-"
OPERATOR_IMAGE = "operator"
# What a cluster store needs beside the services, each from images/<name>/Dockerfile
# (the Vault agent the chart adds to the Pods, vault.injection agent; the store's
# gateway, gateway.enabled).
SUPPORT_IMAGES = tuple(sorted(p.parent.name for p in (REPO / "images").glob("*/Dockerfile")))
DEFAULT_IMAGES = (*(d.name for d in DESCRIPTORS), OPERATOR_IMAGE, *SUPPORT_IMAGES)

# What kubelet (and the bridge plugin: ip_forward) change in the kernel; saved
# before the first start, put back after the stop.
SYSCTLS = (
    "net/ipv4/ip_forward",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    # kube-proxy is told to leave these alone (see processes()); they are saved and
    # put back all the same, should a later kube-proxy change its mind.
    "net/ipv4/conf/all/route_localnet",
    "net/netfilter/nf_conntrack_max",
    "net/netfilter/nf_conntrack_tcp_timeout_established",
    "net/netfilter/nf_conntrack_tcp_timeout_close_wait",
)
# Fixed places containerd (its shim sockets), libcni (its cache), kubelet (log
# links) and containerd (network namespaces) use whatever they are told. Those
# only this node uses are removed on stop when the first start found them
# absent; the shared ones only when empty.
OWN_HOST_DIRS = ("/run/containerd", "/var/lib/cni", "/var/lib/kubelet")
SHARED_HOST_DIRS = ("/var/log/containers", "/run/netns")
CGROUP_ROOT = Path("/sys/fs/cgroup")
# The CNI plugins' chains, and kube-proxy's (KUBE-SERVICES, KUBE-SVC-*, KUBE-SEP-*,
# KUBE-POSTROUTING, ...; and kubelet's, had it iptables on its PATH): this machine
# has no KUBE- chain of its own. kube-proxy writes IPv6 ones too.
OWN_CHAINS = ("CNI-", "KUBE-")
IPTABLES = ("iptables", "ip6tables")


def store_version() -> str:
    """The release these sources are: the services chart's appVersion, the tag its
    images default to."""
    chart = yaml.safe_load((REPO / "charts/productstore/Chart.yaml").read_text())
    return str(chart["appVersion"])


def service_image(service: str) -> str:
    """The image reference of a service (or OPERATOR_IMAGE) built here."""
    return f"{IMAGE_REGISTRY}/{IMAGE_PREFIX}{service}:{store_version()}"


class Node(Component):
    name = "node"
    description = (
        f"a real node {NODE_NAME} ({NODE_IP}): containerd, runc, CNI, kubelet, kube-proxy, CoreDNS"
    )
    requires = ("kube-apiserver", "coredns", "helm", "node-net")
    ready_timeout = 120.0
    start_hint = (
        "check `devstack logs node` and `devstack logs containerd`; "
        "`devstack down node` removes what it left on the machine"
    )

    # --- where things are ---------------------------------------------------
    @property
    def debian_dir(self) -> Path:
        digest = hashlib.sha256(node_build.debian_fingerprint().encode()).hexdigest()[:12]
        return self.paths.artifacts / f"node-debian-{digest}"

    @property
    def bin_dir(self) -> Path:
        return self.debian_dir / "bin"

    @property
    def cni_bin_dir(self) -> Path:
        return self.debian_dir / "root/usr/lib/cni"

    @property
    def kube_dir(self) -> Path:
        return self.paths.artifacts / f"kubernetes-node-{KUBERNETES_VERSION}"

    @property
    def kubelet(self) -> Path:
        return self.kube_dir / "bin" / "kubelet"

    @property
    def kube_proxy(self) -> Path:
        return self.kube_dir / "bin" / "kube-proxy"

    @property
    def coredns(self) -> Path:
        """Built by the coredns tool component (a requirement, so provisioned first)."""
        return CoreDns(self.ctx).binary

    @property
    def helm(self) -> Path:
        """Built by the helm tool component (a requirement, so provisioned first)."""
        return self.paths.artifacts / f"helm-{HELM_VERSION}" / "helm"

    @property
    def pause_dir(self) -> Path:
        return self.paths.artifacts / "node-pause"

    @property
    def base_dir(self) -> Path:
        return self.paths.artifacts / "node-base-image"

    @property
    def image_layout(self) -> Path:
        """The OCI layout holding the images built here (each layer once), imported on start."""
        return self.paths.cache / "node-images" / "oci"

    @property
    def containerd_socket(self) -> Path:
        return self.state_dir / "containerd.sock"

    @property
    def host_before(self) -> Path:
        return self.state_dir / "host-before.json"

    @property
    def pod_logs_dir(self) -> Path:
        return self.state_dir / "pod-logs"

    @property
    def images(self) -> tuple[str, ...]:
        wanted = self.ctx.options.get("node.images") or os.environ.get("PRODUCTSTORE_NODE_IMAGES")
        if wanted is None:
            return DEFAULT_IMAGES
        return tuple(s for s in wanted.replace(",", " ").split() if s)

    def buildah(self) -> node_build.Buildah:
        return node_build.Buildah(
            self.name,
            bin_dir=self.bin_dir,
            home=self.paths.cache / "buildah",
            log_file=self.provision_log,
        )

    # --- provisioning -----------------------------------------------------
    def provision(self) -> bool:
        final = self.debian_dir
        did = artifacts.ensure(
            self.name,
            final,
            node_build.debian_fingerprint(),
            lambda tmp: node_build.provision_debian_packages(
                self.name, tmp, final, log_file=self.provision_log
            ),
            verify_hashes=self.ctx.verify,
        )
        if did:
            try:
                node_build.check_tools(self.name, self.bin_dir, log_file=self.provision_log)
            except DevstackError:
                (final / artifacts.STAMP).unlink()  # provision again once fixed
                raise
        did |= artifacts.ensure(
            self.name,
            self.kube_dir,
            kube_build.control_plane_fingerprint(KUBERNETES_VERSION) + ";node",
            lambda tmp: kube_build.build_node(
                self.name,
                tmp,
                kubernetes_version=KUBERNETES_VERSION,
                build_dir=self.paths.builds / f"k8sbuild-node-{KUBERNETES_VERSION}",
                download_dir=self.paths.builds / "go-download",
                log_file=self.provision_log,
            ),
            verify_hashes=self.ctx.verify,
        )
        source = Path(__file__).with_name("node_files") / "pause.c"
        did |= artifacts.ensure(
            self.name,
            self.pause_dir,
            node_build.pause_fingerprint(source),
            lambda tmp: node_build.build_pause_image(
                self.name, tmp, source=source, log_file=self.provision_log
            ),
            verify_hashes=self.ctx.verify,
        )
        did |= self._provision_base_image()
        self.build_images()
        return did

    def build_images(self) -> dict[str, str]:
        """Build self.images from the project's Dockerfiles and export them into
        image_layout; {tag: image id}. An image whose inputs did not change since its
        last build is not built again, buildah's layer cache makes a changed one cost
        seconds, and the layout skips the export of an unchanged image id."""
        buildah = self.buildah()
        built: dict[str, str] = {}
        # An image whose inputs (the build context, its Dockerfile and arguments, the
        # images it starts from) are those of its last build is not built again: even
        # with every layer cached, `buildah bud` takes seconds to hash the context.
        context = node_build.context_digest(REPO)
        base = node_build.image_id(buildah, node_build.BASE_IMAGE)
        for name in self.images:
            if name == OPERATOR_IMAGE:
                node_build.build_helm_image(buildah, self.helm)
                dockerfile, args = "operator/Dockerfile", {"HELM_IMAGE": node_build.HELM_IMAGE}
                parents = f"{base};{node_build.image_id(buildah, node_build.HELM_IMAGE)}"
            elif name in SUPPORT_IMAGES:
                dockerfile, args, parents = f"images/{name}/Dockerfile", {}, base
            else:
                dockerfile, args, parents = "services/Dockerfile", {"SERVICE": name}, base
            tag = service_image(name)
            key = (
                None
                if context is None
                else f"{context};{dockerfile};{sorted(args.items())};{parents}"
            )
            stamp = self.paths.cache / "node-images" / "built" / node_build.ref_name(tag)
            image_id = node_build.unchanged_image(buildah, tag, key, stamp)
            if image_id is None:
                image_id = node_build.build_image(
                    buildah, workspace=REPO, dockerfile=dockerfile, build_args=args, tag=tag
                )
                node_build.record_build(stamp, key, image_id)
            built[tag] = image_id
            if name == OPERATOR_IMAGE:
                node_build.remove_stage_containers(buildah, node_build.HELM_IMAGE)
            node_build.export_image(buildah, tag=tag, image_id=built[tag], layout=self.image_layout)
        node_build.collect_garbage(self.image_layout)
        return built

    def _provision_base_image(self) -> bool:
        buildah = self.buildah()

        def build(tmp: Path) -> None:
            image_id = node_build.build_base_image(buildah, tmp, log_file=self.provision_log)
            (tmp / "image-id").write_text(image_id + "\n")

        fingerprint = node_build.base_fingerprint()
        if artifacts.is_complete(self.base_dir, fingerprint) and not buildah.has_image(
            node_build.BASE_IMAGE
        ):
            # The buildah storage was emptied: the stamp no longer tells the truth.
            (self.base_dir / artifacts.STAMP).unlink()
        return artifacts.ensure(
            self.name, self.base_dir, fingerprint, build, verify_hashes=self.ctx.verify
        )

    # --- configuration ----------------------------------------------------
    def _containerd_config(self) -> str:
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        root = self.state_dir / "containerd"
        return f"""# Generated by devstack; edits are overwritten on start.
version = 2
root = "{root / "root"}"
state = "{root / "state"}"
oom_score = 0
# /opt/containerd and the snapshotters this node does not use.
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = "{self.containerd_socket}"

[{cri}]
  sandbox_image = "{node_build.PAUSE_IMAGE}"
  # The VM lacks CAP_SYS_RESOURCE: runc cannot raise oom_score_adj, and without
  # this every sandbox fails with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.runc.options]
        BinaryName = "{self.bin_dir / "runc"}"
        SystemdCgroup = false
  [{cri}.cni]
    bin_dir = "{self.cni_bin_dir}"
    conf_dir = "{self.state_dir / "cni"}"
    max_conf_num = 1
"""

    def _cni_conflist(self) -> dict[str, Any]:
        # containerd brings up each Pod's lo with the `loopback` plugin of bin_dir.
        return {
            "cniVersion": "1.0.0",
            "name": "productstore-node",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    "isGateway": True,
                    # No masquerading: Pod traffic never leaves this machine.
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": POD_SUBNET, "gateway": POD_GATEWAY}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(self.state_dir / "ipam"),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
                # Accepts the Pods' forwarded traffic, after CNI-ADMIN (our guard).
                {"type": "firewall", "backend": "iptables"},
            ],
        }

    def _kubelet_config(self) -> dict[str, Any]:
        return {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": NODE_IP,
            "port": KUBELET_PORT,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": KUBELET_HEALTHZ_PORT,
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(pki_files(self.paths).ca_cert)},
            },
            "authorization": {"mode": "Webhook"},
            "tlsCertFile": str(pki_files(self.paths).cert(KUBELET_SERVING_CERT)),
            "tlsPrivateKeyFile": str(pki_files(self.paths).key(KUBELET_SERVING_CERT)),
            "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
            "cgroupDriver": "cgroupfs",
            # This VM has swap and cgroup v1.
            "failSwapOn": False,
            "failCgroupV1": False,
            "podLogsDir": str(self.pod_logs_dir),
            "registerWithTaints": [TAINT],
            "clusterDomain": CLUSTER_DOMAIN,
            "clusterDNS": [DNS_SERVICE_IP],
            "rotateCertificates": False,
            "serverTLSBootstrap": False,
            # Shared disks fill up for other reasons: evict only when truly out.
            "evictionHard": {
                "memory.available": "100Mi",
                "nodefs.available": "1%",
                "imagefs.available": "1%",
            },
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
        }

    def _corefile(self) -> str:
        kubeconfig_file = kubeconfig(self.paths, "coredns")
        return f"""# Generated by devstack; edits are overwritten on start.
# The cluster domain and reverse lookups from the apiserver. No upstream resolver:
# other names fail (SERVFAIL), since nothing here may reach another network.
.:{DNS_PORT} {{
    bind {NODE_IP}
    errors
    health 127.0.0.1:{COREDNS_HEALTH_PORT}
    ready 127.0.0.1:{COREDNS_READY_PORT}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig_file}
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }}
    cache 5
}}
"""

    def _cluster_objects(self) -> list[tuple[str, dict[str, Any]]]:
        """What the node adds to the cluster (URL to apply at, object); `down`
        deletes them: CoreDNS's read access and the kube-dns Service with the one
        endpoint (CoreDNS on the node address: not a Pod, so no selector)."""
        labels = {"app.kubernetes.io/managed-by": "devstack", "k8s-app": DNS_SERVICE}
        ports = [
            {"name": "dns", "port": DNS_PORT, "protocol": "UDP"},
            {"name": "dns-tcp", "port": DNS_PORT, "protocol": "TCP"},
        ]
        rbac = "/apis/rbac.authorization.k8s.io/v1"
        return [
            (
                f"{rbac}/clusterroles/{COREDNS_ROLE}",
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": {"name": COREDNS_ROLE, "labels": labels},
                    "rules": [
                        {
                            "apiGroups": [""],
                            "resources": ["endpoints", "services", "pods", "namespaces"],
                            "verbs": ["list", "watch"],
                        },
                        {
                            "apiGroups": ["discovery.k8s.io"],
                            "resources": ["endpointslices"],
                            "verbs": ["list", "watch"],
                        },
                    ],
                },
            ),
            (
                f"{rbac}/clusterrolebindings/{COREDNS_ROLE}",
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": COREDNS_ROLE, "labels": labels},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": COREDNS_ROLE,
                    },
                    "subjects": [
                        {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "User",
                            "name": COREDNS_USER,
                        }
                    ],
                },
            ),
            (
                f"/api/v1/namespaces/kube-system/services/{DNS_SERVICE}",
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": DNS_SERVICE, "namespace": "kube-system", "labels": labels},
                    "spec": {"clusterIP": DNS_SERVICE_IP, "ports": ports},
                },
            ),
            (
                f"/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/{DNS_SERVICE}-node",
                {
                    "apiVersion": "discovery.k8s.io/v1",
                    "kind": "EndpointSlice",
                    "metadata": {
                        "name": f"{DNS_SERVICE}-node",
                        "namespace": "kube-system",
                        "labels": {
                            **labels,
                            "kubernetes.io/service-name": DNS_SERVICE,
                            "endpointslice.kubernetes.io/managed-by": "devstack",
                        },
                    },
                    "addressType": "IPv4",
                    "endpoints": [
                        {
                            "addresses": [NODE_IP],
                            "conditions": {"ready": True},
                            "nodeName": NODE_NAME,
                        }
                    ],
                    "ports": ports,
                },
            ),
            *self._dependency_objects(),
        ]

    def _dependency_objects(self) -> list[tuple[str, dict[str, Any]]]:
        """The `devstack` namespace with a selector-less Service and an EndpointSlice
        (NODE_IP) per dependency of DEPENDENCY_SERVICES."""
        labels = {"app.kubernetes.io/managed-by": "devstack"}
        ns = DEPENDENCY_NAMESPACE
        objects: list[tuple[str, dict[str, Any]]] = [
            (
                f"/api/v1/namespaces/{ns}",
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": ns, "labels": labels},
                },
            )
        ]
        for name, ports in DEPENDENCY_SERVICES.items():
            objects.append(
                (
                    f"/api/v1/namespaces/{ns}/services/{name}",
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "metadata": {"name": name, "namespace": ns, "labels": labels},
                        "spec": {
                            "ports": [
                                {"name": p, "port": port, "targetPort": target, "protocol": "TCP"}
                                for p, (port, target) in ports.items()
                            ]
                        },
                    },
                )
            )
            objects.append(
                (
                    f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices/{name}-node",
                    {
                        "apiVersion": "discovery.k8s.io/v1",
                        "kind": "EndpointSlice",
                        "metadata": {
                            "name": f"{name}-node",
                            "namespace": ns,
                            "labels": {
                                **labels,
                                "kubernetes.io/service-name": name,
                                "endpointslice.kubernetes.io/managed-by": "devstack",
                            },
                        },
                        "addressType": "IPv4",
                        "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}}],
                        "ports": [
                            {"name": p, "port": target, "protocol": "TCP"}
                            for p, (_, target) in ports.items()
                        ],
                    },
                )
            )
        return objects

    def _apply_cluster_objects(self) -> None:
        server_side_apply(
            self.paths,
            self.name,
            self._cluster_objects(),
            hint="check `devstack logs kube-apiserver`; is the Service range "
            f"{SERVICE_CIDR} (an apiserver started before the move needs "
            "`devstack down kube && devstack up kube`)?",
        )

    def _delete_cluster_objects(self) -> None:
        with contextlib.suppress(Exception), admin_api(self.paths) as api:
            for url, body in reversed(self._cluster_objects()):
                # The empty namespace stays: an `up` soon after would otherwise meet
                # it terminating, and could not create the Services in it.
                if body["kind"] != "Namespace":
                    api.delete(url)

    def prepare(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._save_host_state()
        (self.state_dir / "cni").mkdir(exist_ok=True)
        self.pod_logs_dir.mkdir(exist_ok=True)
        self.write_generated(self.state_dir / "containerd.toml", self._containerd_config())
        self.write_generated(
            self.state_dir / "cni" / "10-productstore-node.conflist",
            json.dumps(self._cni_conflist(), indent=2) + "\n",
        )
        self.write_generated_yaml(self.state_dir / "kubelet.yaml", self._kubelet_config())
        self.write_generated(self.state_dir / "Corefile", self._corefile())
        for client in ("node", "kube-proxy", "coredns"):
            write_client_kubeconfig(self.paths, client)
        ensure_serving_cert(
            pki(self.paths),
            KUBELET_SERVING_CERT,
            common_name=f"system:node:{NODE_NAME}",
            dns_names=[NODE_NAME],
            ip_addresses=[NODE_IP],
        )
        # Before kube-proxy starts, so its first sync already has the DNS Service.
        self._apply_cluster_objects()
        if not has_node_address():
            raise DevstackError(
                self.name,
                f"{NODE_IP} is not on {NODE_LINK}",
                hint="node-net keeps it: `devstack up node-net`",
            )
        # Evaluated before the firewall plugin's accept rules (CNI-ADMIN is the
        # chain it keeps for such rules): nothing from a Pod is forwarded off the
        # bridge, so Pods reach this machine only.
        self._iptables("-t", "filter", "-N", "CNI-ADMIN")
        self._iptables(
            "-t", "filter", "-A", "CNI-ADMIN", "-i", BRIDGE, "!", "-o", BRIDGE, "-j", "DROP"
        )
        # kube-proxy sends a ClusterIP whose endpoints are kwok's fake Pods to those
        # IPs; without this a host process's packet would take the default route.
        self._ip("route", "replace", "unreachable", KWOK_POD_CIDR)

    def endpoints(self) -> dict[str, Endpoint]:
        return {
            "kube-proxy-healthz": Endpoint("127.0.0.1", KUBE_PROXY_HEALTHZ_PORT),
            "kube-proxy-metrics": Endpoint("127.0.0.1", KUBE_PROXY_METRICS_PORT),
            "coredns-health": Endpoint("127.0.0.1", COREDNS_HEALTH_PORT),
            "coredns-ready": Endpoint("127.0.0.1", COREDNS_READY_PORT),
        }

    def _kube_proxy_argv(self) -> list[str]:
        return [
            str(self.kube_proxy),
            f"--kubeconfig={kubeconfig(self.paths, 'kube-proxy')}",
            "--proxy-mode=iptables",
            f"--hostname-override={NODE_NAME}",
            f"--bind-address={NODE_IP}",
            # Traffic to a ClusterIP from outside the Pods' range is masqueraded.
            f"--cluster-cidr={POD_SUBNET}",
            # NodePorts on the node address only: not on loopback (that would set
            # route_localnet), never on the uplink.
            f"--nodeport-addresses={NODE_IP}/32",
            f"--healthz-bind-address=127.0.0.1:{KUBE_PROXY_HEALTHZ_PORT}",
            f"--metrics-bind-address=127.0.0.1:{KUBE_PROXY_METRICS_PORT}",
            # Leave the kernel's conntrack table size and timeouts as they are
            # (nf_conntrack_max is shared with everything else on the machine).
            "--conntrack-max-per-core=0",
            "--conntrack-tcp-timeout-established=0",
            "--conntrack-tcp-timeout-close-wait=0",
            "--v=1",
        ]

    def processes(self) -> list[ProcessSpec]:
        system_path = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        # containerd finds the shim, and the CNI plugins iptables, in bin_dir; kubelet
        # does not get it: with iptables at hand it adds chains of its own.
        path = f"{self.bin_dir}{os.pathsep}{system_path}"
        kubelet = [
            str(self.kubelet),
            f"--config={self.state_dir / 'kubelet.yaml'}",
            f"--kubeconfig={kubeconfig(self.paths, 'node')}",
            f"--root-dir={self.state_dir / 'kubelet'}",
            f"--cert-dir={self.state_dir / 'kubelet-pki'}",
            f"--hostname-override={NODE_NAME}",
            f"--node-ip={NODE_IP}",
            f"--node-labels=productstore.dev/node=real,{CLUSTER_NAME}/node=real",
            "--v=1",
        ]
        # kubelet exits at once when the runtime is not ready ("server is not
        # initialized yet" comes after containerd's socket): start it again while it
        # fails within seconds, for up to a minute. A kubelet that ran longer and
        # exits stays down (devstack reports the component failed). The shell passes
        # a stop (or its own parent-death signal) on to kubelet.
        wait = (
            "for attempt in $(seq 30); do started=$(date +%s); "
            '"$@" & child=$!; '
            """trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM INT HUP; """
            'wait "$child"; code=$?; trap - TERM INT HUP; '
            '[ $(( $(date +%s) - started )) -ge 10 ] && exit "$code"; '
            'echo "kubelet exited with $code at start (attempt $attempt); starting it again" >&2; '
            "sleep 2; done; exit 1"
        )
        return [
            ProcessSpec(
                name="containerd",
                argv=[
                    str(self.bin_dir / "containerd"),
                    f"--config={self.state_dir / 'containerd.toml'}",
                ],
                env={"PATH": path},
            ),
            ProcessSpec(
                name=self.name,
                argv=["/bin/sh", "-c", wait, "kubelet", *kubelet],
                env={"PATH": system_path},
            ),
            # iptables (and nft) from bin_dir, the ones the CNI plugins use.
            ProcessSpec(name="kube-proxy", argv=self._kube_proxy_argv(), env={"PATH": path}),
            ProcessSpec(
                name="coredns",
                argv=[str(self.coredns), "-conf", str(self.state_dir / "Corefile")],
            ),
        ]

    # --- readiness --------------------------------------------------------
    def node_object(self) -> dict[str, Any] | None:
        with admin_api(self.paths) as api:
            response = api.get(f"/api/v1/nodes/{NODE_NAME}")
        if response.status_code != 200:
            return None
        node: dict[str, Any] = response.json()
        return node

    def ready(self) -> bool:
        node = self.node_object()
        if node is None:
            return False
        conditions: list[dict[str, Any]] = node.get("status", {}).get("conditions") or []
        if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            return False
        # kube-proxy: 200 once its rules are synced; CoreDNS: once it has read the cluster.
        for port, path in ((KUBE_PROXY_HEALTHZ_PORT, "healthz"), (COREDNS_READY_PORT, "ready")):
            if httpx.get(f"http://127.0.0.1:{port}/{path}", timeout=2).status_code != 200:
                return False
        return True

    def after_ready(self) -> None:
        pause = self.pause_dir / "pause.tar"
        if not pause.exists():
            raise DevstackError(
                self.name, f"{pause} is missing", hint="run `devstack provision node`"
            )
        self.ctr("images", "import", str(pause))
        self.import_images()

    def import_images(self) -> None:
        """Each image of self.images from the layout into containerd, streamed as a
        one-image OCI archive; containerd stores a layer it has once."""
        for name in self.images:
            # ctr's messages to a file: a pipe nobody reads while the archive is written
            # could fill up and stall both sides.
            with tempfile.TemporaryFile() as errors:
                proc = subprocess.Popen(
                    self._ctr_argv("images", "import", "-"),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                )
                stdin = proc.stdin
                if stdin is None:  # for mypy: stdin=PIPE always gives one
                    raise DevstackError(self.name, "ctr has no stdin")
                try:
                    with stdin:
                        node_build.image_archive(self.image_layout, service_image(name), stdin)
                except BrokenPipeError:
                    pass  # ctr stopped reading: its error follows
                finally:
                    proc.wait(timeout=600)
                errors.seek(0)
                message = errors.read().decode(errors="replace")[-500:]
            if proc.returncode != 0:
                raise DevstackError(
                    self.name,
                    f"ctr images import of {service_image(name)} failed: {message}",
                    log_file=self.log_file_for("containerd"),
                    hint="run `devstack provision node` (it builds the images)",
                )

    def _ctr_argv(self, *args: str) -> list[str]:
        return [
            str(self.bin_dir / "ctr"),
            f"--address={self.containerd_socket}",
            "-n",
            "k8s.io",
            *args,
        ]

    def ctr(self, *args: str) -> str:
        """`ctr -n k8s.io ...` against this node's containerd."""
        result = subprocess.run(
            self._ctr_argv(*args),
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if result.returncode != 0:
            raise DevstackError(
                self.name,
                f"ctr {' '.join(args[:2])} failed: {result.stderr.strip()[-500:]}",
                log_file=self.log_file_for("containerd"),
                hint=self.start_hint,
            )
        return result.stdout

    # --- stopping and cleaning up -------------------------------------------
    def before_stop(self) -> None:
        """Cordon, then delete the node's Pods and let kubelet tear them down (CNI DEL,
        unmounts) while it still runs."""
        try:
            with admin_api(self.paths) as api:
                api.patch(
                    f"/api/v1/nodes/{NODE_NAME}",
                    json={"spec": {"unschedulable": True}},
                    headers={"Content-Type": "application/merge-patch+json"},
                )
                pods = api.get(
                    "/api/v1/pods", params={"fieldSelector": f"spec.nodeName={NODE_NAME}"}
                )
                for pod in pods.json().get("items", []) if pods.status_code == 200 else []:
                    meta = pod["metadata"]
                    api.delete(
                        f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                        params={"gracePeriodSeconds": "5"},
                    )
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    left = api.get(
                        "/api/v1/pods", params={"fieldSelector": f"spec.nodeName={NODE_NAME}"}
                    )
                    if left.status_code != 200 or not left.json().get("items"):
                        break
                    time.sleep(1)
        except Exception:
            return

    def after_stop(self) -> None:
        if not self.host_before.exists():
            return  # never started here, or already cleaned up (the restore removes it)
        self._kill_leftovers()
        with contextlib.suppress(Exception), admin_api(self.paths) as api:
            # Pods still bound here (kubelet died before the drain) run nowhere now.
            pods = api.get("/api/v1/pods", params={"fieldSelector": f"spec.nodeName={NODE_NAME}"})
            for pod in pods.json().get("items", []) if pods.status_code == 200 else []:
                meta = pod["metadata"]
                api.delete(
                    f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                    params={"gracePeriodSeconds": "0"},
                )
            api.delete(f"/api/v1/nodes/{NODE_NAME}")
        self._delete_cluster_objects()
        self._unmount_leftovers()
        for log_link in Path("/var/log/containers").glob("*.log"):
            with contextlib.suppress(OSError):
                if log_link.is_symlink() and str(log_link.readlink()).startswith(
                    str(self.pod_logs_dir)
                ):
                    log_link.unlink()
        for netns in Path("/run/netns").glob("cni-*"):
            with contextlib.suppress(OSError):
                netns.unlink()
        for port in self._bridge_ports():
            self._ip("link", "del", port)
        self._ip("link", "del", BRIDGE)
        self._ip("route", "del", "unreachable", KWOK_POD_CIDR)
        self._remove_chains()
        self._remove_cgroups()
        # No sandbox outlives the stop: host-local's leases would only leak addresses.
        shutil.rmtree(self.state_dir / "ipam", ignore_errors=True)
        self._restore_host_state()

    def _ip(self, *args: str) -> bool:
        """`ip ...`; False (not an error) when there was nothing to do."""
        return subprocess.run(["ip", *args], capture_output=True, check=False).returncode == 0  # noqa: S607

    def _ip_out(self, *args: str) -> str:
        return subprocess.run(["ip", *args], capture_output=True, text=True, check=False).stdout  # noqa: S607

    def _iptables(self, *args: str, binary: str = "iptables") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / binary), "-w", *args],
            capture_output=True,
            text=True,
            check=False,
        )

    def _nft_tables(self) -> list[str]:
        """`family name` of every nftables table (`nft list tables`)."""
        listed = subprocess.run(
            [str(self.bin_dir / "nft"), "list", "tables"],
            capture_output=True,
            text=True,
            check=True,
        )
        return sorted(line.removeprefix("table ").strip() for line in listed.stdout.splitlines())

    def _bridge_ports(self) -> list[str]:
        out = subprocess.run(
            ["ip", "-o", "link", "show", "master", BRIDGE],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return [
            line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line
        ]

    def _kill_leftovers(self) -> None:
        """This node's kubelet, containerd and shims (with their containers) that
        outlived their pid files: a killed wrapper shell, containerd's shims."""
        ours = {
            str(self.kubelet): 0,
            str(self.kube_proxy): 0,
            str(self.coredns): 0,
            str(self.debian_dir / "root/usr/bin/containerd"): 1,
            str(self.debian_dir / "root/usr/bin/containerd-shim-runc-v2"): 2,
        }
        found: list[tuple[int, psutil.Process]] = []
        for proc in psutil.process_iter(["exe", "cmdline"]):
            rank = ours.get(proc.info["exe"] or "")
            # Ours if its arguments name this devstack's state (kube-proxy names only
            # its kubeconfig there).
            if rank is not None and str(self.paths.state) in " ".join(proc.info["cmdline"] or []):
                found.append((rank, proc))
        # kubelet first (it would re-register the Node), the shims' containers last.
        for _, proc in sorted(found, key=lambda item: item[0]):
            try:
                family = [*proc.children(recursive=True), proc]
            except psutil.Error:
                continue
            for member in family:
                with contextlib.suppress(psutil.Error):
                    member.kill()
            psutil.wait_procs(family, timeout=10)

    def _unmount_leftovers(self) -> None:
        roots = (str(self.state_dir) + "/", "/run/netns/cni-", "/run/containerd/")
        points = []
        with Path("/proc/self/mountinfo").open() as fh:
            for line in fh:
                point = line.split()[4].replace("\\040", " ")
                if point.startswith(roots):
                    points.append(point)
        for point in sorted(set(points), key=len, reverse=True):
            subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)  # noqa: S607

    def _remove_chains(self) -> None:
        """Jumps into the CNI plugins' and kube-proxy's chains, then the chains
        themselves, for IPv4 and IPv6."""
        for binary in IPTABLES:
            for table in ("filter", "nat", "mangle"):
                listed = self._iptables("-t", table, "-S", binary=binary)
                if listed.returncode != 0:
                    continue
                chains = []
                for line in listed.stdout.splitlines():
                    parts = line.split()
                    if parts[:1] == ["-N"] and parts[1].startswith(OWN_CHAINS):
                        chains.append(parts[1])
                    elif (
                        parts[:1] == ["-A"]
                        and not parts[1].startswith(OWN_CHAINS)
                        and any(f"-j {c}" in line for c in OWN_CHAINS)
                    ):
                        self._iptables("-t", table, "-D", *parts[1:], binary=binary)
                for chain in chains:
                    self._iptables("-t", table, "-F", chain, binary=binary)
                for chain in chains:
                    self._iptables("-t", table, "-X", chain, binary=binary)

    def _remove_cgroups(self) -> None:
        """kubelet's kubepods hierarchy in every cgroup v1 controller (deepest first)."""
        for controller in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else []:
            top = controller / "kubepods"
            if not top.is_dir():
                continue
            for cgroup in sorted(
                (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
            ):
                with contextlib.suppress(OSError):
                    cgroup.rmdir()
            with contextlib.suppress(OSError):
                top.rmdir()

    def _save_host_state(self) -> None:
        if self.host_before.exists():
            return  # a stop never ran: keep what the machine had before the first start
        state = {
            "sysctls": {
                key: (Path("/proc/sys") / key).read_text().strip()
                for key in SYSCTLS
                if (Path("/proc/sys") / key).exists()  # nf_conntrack: once loaded
            },
            "absent_dirs": [d for d in (*OWN_HOST_DIRS, *SHARED_HOST_DIRS) if not Path(d).exists()],
            "nft_tables": self._nft_tables(),
        }
        self.host_before.write_text(json.dumps(state, indent=1))

    def _restore_host_state(self) -> None:
        try:
            state = json.loads(self.host_before.read_text())
        except (FileNotFoundError, ValueError):
            return
        for key, value in state["sysctls"].items():
            with contextlib.suppress(OSError):
                (Path("/proc/sys") / key).write_text(value + "\n")
        # iptables-nft leaves the tables it made (empty once the chains are gone).
        for table in set(self._nft_tables()) - set(state["nft_tables"]):
            subprocess.run(
                [str(self.bin_dir / "nft"), "delete", "table", *table.split()], check=False
            )
        for directory in state["absent_dirs"]:
            if directory in OWN_HOST_DIRS:
                subprocess.run(["rm", "-rf", "--one-file-system", directory], check=False)  # noqa: S607
            else:
                with contextlib.suppress(OSError):
                    Path(directory).rmdir()
        self.host_before.unlink()

    def env(self) -> dict[str, str]:
        return {"CONTAINERD_ADDRESS": str(self.containerd_socket)}
