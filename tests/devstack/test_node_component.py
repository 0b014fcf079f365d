"""devstack's `node` component: a real kubelet joined to devstack's apiserver runs a Pod
from an image built here from services/Dockerfile, and `down` leaves the machine as it was.

Part of `make up` and of the suite: it provisions for minutes on a cold cache and
changes the machine while it runs (a bridge, firewall rules, kernel settings), all of
which `down` undoes.
"""

from __future__ import annotations

import errno
import hashlib
import io
import ipaddress
import json
import re
import socket
import ssl
import subprocess
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from devstack.component import Context
from devstack.components import helm, kube, node_build
from devstack.components import node as node_module
from devstack.components.coredns import COREDNS_VERSION
from devstack.components.kube_certs import CLIENTS
from devstack.components.kube_cluster import (
    CLUSTER_DOMAIN,
    DNS_SERVICE_IP,
    POD_CIDR,
    SERVICE_CIDR,
    admin_api,
    kubeconfig,
    pki_files,
)
from devstack.components.node import KUBELET_PORT, NODE_NAME, POD_SUBNET, TAINT, Node
from devstack.node_address import NODE_IP
from devstack.paths import Paths
from devstack.process import read_pid_file
from devstack.stack import Stack
from tests.support.real_node import node_stopped_first  # noqa: F401 - a fixture

MARKER = "productstore catalog image on a real node"


def test_the_kubelet_is_the_control_planes_version() -> None:
    """node.py cannot import kube.py (independent components): the copy must agree."""
    assert node_module.KUBERNETES_VERSION == kube.KUBERNETES_VERSION


def test_the_operator_image_gets_the_helm_component_builds(tmp_path: Path) -> None:
    assert node_module.HELM_VERSION == helm.HELM_VERSION
    context = Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s"))
    assert Node(context).helm == helm.Helm(context).binary


TEST_RANGES = [ipaddress.ip_network(n) for n in ("198.18.0.0/15", "198.51.100.0/24")]


def _addresses(text: str) -> set[str]:
    return set(re.findall(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?:/\d+)?(?![\d.])", text))


def test_the_node_is_in_all_and_uses_only_test_addresses(tmp_path: Path) -> None:
    """On in `all` (make up, make test, CI); every address in its configuration is
    loopback or from a range reserved for testing, never 10/8, 172.16/12, 192.168/16 or
    192.0.2.0/24 (this VM's own uplink)."""
    stack = Stack(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    node = stack.components["node"]
    assert isinstance(node, Node)
    assert {"node", "coredns"} <= set(stack.default_names())
    assert stack.expand(["node"]) == [
        "etcd",
        "kube-apiserver",
        "coredns",
        "helm",  # the operator image's helm
        "node-net",  # the node address and the relay to the dependencies
        "node",
    ]
    configs = {
        "containerd": node._containerd_config(),
        "cni": json.dumps(node._cni_conflist()),
        "kubelet": json.dumps(node._kubelet_config()),
        "corefile": node._corefile(),
        "cluster objects": json.dumps(node._cluster_objects()),
        "argv": " ".join(arg for spec in node.processes() for arg in spec.argv),
    }
    for name, text in configs.items():
        for address in _addresses(text):
            ip = ipaddress.ip_address(address)
            allowed = ip.is_loopback or ip.is_unspecified  # 0.0.0.0/0: the default route
            assert allowed or any(ip in net for net in TEST_RANGES), (name, address)
    assert "198.18.0.0/24" in configs["cni"] and NODE_IP in configs["kubelet"]
    assert DNS_SERVICE_IP in configs["kubelet"] and DNS_SERVICE_IP in configs["cluster objects"]


def test_kube_proxy_runs_iptables_mode_and_leaves_conntrack_alone(tmp_path: Path) -> None:
    node = Node(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    specs = {spec.name: spec for spec in node.processes()}
    assert set(specs) == {"containerd", "node", "kube-proxy", "coredns"}
    argv = specs["kube-proxy"].argv
    assert argv[0] == str(node.kube_proxy)
    for flag in (
        "--proxy-mode=iptables",
        f"--cluster-cidr={POD_SUBNET}",
        f"--hostname-override={NODE_NAME}",
        f"--nodeport-addresses={NODE_IP}/32",  # not loopback: route_localnet stays 0
        "--conntrack-max-per-core=0",
        "--conntrack-tcp-timeout-established=0",
        "--conntrack-tcp-timeout-close-wait=0",
    ):
        assert flag in argv, flag
    assert POD_SUBNET == "198.18.0.0/24"
    # Its iptables is the one the CNI plugins use (and down cleans up with).
    assert specs["kube-proxy"].env["PATH"].startswith(str(node.bin_dir))
    # Whatever kube-proxy could still change in the kernel is saved and put back.
    assert {"net/netfilter/nf_conntrack_max", "net/ipv4/conf/all/route_localnet"} <= set(
        node_module.SYSCTLS
    )
    assert node_module.OWN_CHAINS == ("CNI-", "KUBE-") and "ip6tables" in node_module.IPTABLES


def test_coredns_serves_the_cluster_domain_behind_kube_dns(tmp_path: Path) -> None:
    node = Node(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    specs = {spec.name: spec for spec in node.processes()}
    assert specs["coredns"].argv[0] == str(node.coredns)
    assert str(node.coredns).endswith(f"coredns-{COREDNS_VERSION}/coredns")
    corefile = node._corefile()
    assert f"bind {NODE_IP}" in corefile
    assert f"kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa" in corefile
    assert "forward ." not in corefile, "nothing may be sent off the machine"
    assert str(kubeconfig(node.paths, "coredns")) in corefile
    kubelet = node._kubelet_config()
    assert kubelet["clusterDNS"] == [DNS_SERVICE_IP] and kubelet["clusterDomain"] == CLUSTER_DOMAIN

    objects = {
        body["kind"]: body
        for _, body in node._cluster_objects()
        if body["metadata"].get("namespace") in {None, "kube-system"}
        and body["kind"] != "Namespace"
    }
    service = objects["Service"]
    assert (service["metadata"]["namespace"], service["metadata"]["name"]) == (
        "kube-system",
        "kube-dns",
    )
    assert service["spec"]["clusterIP"] == DNS_SERVICE_IP
    assert ipaddress.ip_address(DNS_SERVICE_IP) in ipaddress.ip_network(SERVICE_CIDR)
    assert "selector" not in service["spec"], "CoreDNS is no Pod: its endpoint is set by hand"
    ports = {(p["protocol"], p["port"]) for p in service["spec"]["ports"]}
    assert ports == {("UDP", 53), ("TCP", 53)}
    endpoints = objects["EndpointSlice"]
    assert endpoints["metadata"]["labels"]["kubernetes.io/service-name"] == "kube-dns"
    assert endpoints["endpoints"][0]["addresses"] == [NODE_IP]
    binding = objects["ClusterRoleBinding"]
    assert binding["subjects"][0]["name"] == CLIENTS["coredns"][0]
    verbs = {v for rule in objects["ClusterRole"]["rules"] for v in rule["verbs"]}
    assert verbs == {"list", "watch"}, "CoreDNS only reads the cluster"


def test_containerd_and_kubelet_settings_this_vm_needs(tmp_path: Path) -> None:
    node = Node(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    containerd = node._containerd_config()
    assert "restrict_oom_score_adj = true" in containerd  # no CAP_SYS_RESOURCE here
    assert '"io.containerd.internal.v1.opt"' in containerd  # nothing in /opt/containerd
    kubelet = node._kubelet_config()
    assert kubelet["cgroupDriver"] == "cgroupfs"
    assert kubelet["failSwapOn"] is False and kubelet["failCgroupV1"] is False
    assert kubelet["registerWithTaints"] == [TAINT]
    assert kubelet["authentication"]["anonymous"] == {"enabled": False}
    assert kubelet["authorization"]["mode"] == "Webhook"
    plugins = [p["type"] for p in node._cni_conflist()["plugins"]]
    assert plugins == ["bridge", "portmap", "firewall"]
    assert node._cni_conflist()["plugins"][0]["ipMasq"] is False


def test_an_image_archive_is_what_ctr_imports(tmp_path: Path) -> None:
    """A `docker save` archive: manifest.json naming the config and layers by digest."""
    layer = node_build._tar_bytes({"pause": (b"\x7fELF", 0o755)})
    archive = tmp_path / "pause.tar"
    node_build.write_image_archive(
        archive, tag="localhost/x/pause:1", layer=layer, entrypoint=["/pause"]
    )
    with tarfile.open(archive) as tar:
        [entry] = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert entry["RepoTags"] == ["localhost/x/pause:1"]
        config = json.load(tar.extractfile(entry["Config"]))  # type: ignore[arg-type]
        [layer_name] = entry["Layers"]
        stored = tar.extractfile(layer_name).read()  # type: ignore[union-attr]
    assert hashlib.sha256(stored).hexdigest() == layer_name.split("/")[0]
    assert config["rootfs"]["diff_ids"] == [f"sha256:{layer_name.split('/')[0]}"]
    assert config["config"]["Entrypoint"] == ["/pause"]
    with tarfile.open(fileobj=io.BytesIO(stored)) as inner:
        member = inner.getmember("pause")
        assert member.mode == 0o755 and member.mtime == 0


def _host_state(node: Node) -> dict[str, Any]:
    """What the node may change on the machine, to compare before and after."""

    def out(*argv: str) -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    mounts = sorted(
        line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
    )
    netns = Path("/run/netns")
    return {
        "iptables": out(str(node.bin_dir / "iptables-save")).splitlines(),
        "ip6tables": out(str(node.bin_dir / "ip6tables-save")).splitlines(),
        "nft tables": out(str(node.bin_dir / "nft"), "list", "tables").splitlines(),
        "links": sorted(
            line.split(":")[1].strip() for line in out("ip", "-o", "link").splitlines()
        ),
        "addresses": sorted(
            " ".join(line.split()[1:4]) for line in out("ip", "-o", "addr").splitlines()
        ),
        "routes": sorted(out("ip", "route", "show").splitlines()),
        "mounts": mounts,
        "netns": sorted(p.name for p in netns.iterdir()) if netns.is_dir() else None,
        "sysctls": {key: (Path("/proc/sys") / key).read_text() for key in node_module.SYSCTLS},
        "dirs": {
            d: Path(d).exists() for d in (*node_module.OWN_HOST_DIRS, *node_module.SHARED_HOST_DIRS)
        },
        "cgroups": sorted(str(p) for p in Path("/sys/fs/cgroup").glob("*/kubepods")),
    }


def _pod(namespace: str) -> dict[str, Any]:
    program = (
        "import productstore_catalog, socket, sys, time; "
        f"print({MARKER!r}, sys.version.split()[0], flush=True); time.sleep(3600)"
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "catalog-image", "namespace": namespace},
        "spec": {
            # The scheduler places it: the selector names the node, the toleration
            # lets it past the taint that keeps every other Pod off.
            "nodeSelector": {"kubernetes.io/hostname": NODE_NAME},
            "tolerations": [{**TAINT, "operator": "Equal"}],
            "dnsPolicy": "Default",
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 2,
            "containers": [
                {
                    "name": "catalog",
                    "image": node_module.service_image("catalog"),
                    "imagePullPolicy": "Never",
                    "command": ["python", "-c", program],
                }
            ],
        },
    }


def _wait(what: str, probe: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f} s")


def _apiserver_talks_to_kubelets(paths: Paths) -> bool:
    """The running apiserver has a client certificate for kubelets (logs, exec)."""
    proc = read_pid_file(paths.pid_file("kube-apiserver"))
    return proc is not None and any(
        arg.startswith("--kubelet-client-certificate=") for arg in proc.cmdline()
    )


def _kubelet_logs(paths: Paths, namespace: str) -> str:
    """The container's log from the kubelet's API, authenticated as the apiserver is
    (its kubelet client certificate) and authorised by the apiserver (webhook)."""
    pki = pki_files(paths)
    # The kubelet serves a self-signed certificate, which the apiserver does not check either.
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    tls.load_cert_chain(pki.cert("apiserver-kubelet-client"), pki.key("apiserver-kubelet-client"))
    with httpx.Client(verify=tls, timeout=10) as kubelet:
        url = f"https://{NODE_IP}:{KUBELET_PORT}/containerLogs/{namespace}/catalog-image/catalog"
        unauthenticated = httpx.get(url, verify=False, timeout=10)  # noqa: S501
        assert unauthenticated.status_code == 401, "the kubelet must not answer anonymous callers"
        response = kubelet.get(url)
    assert response.status_code == 200, response.text
    return response.text


@pytest.mark.usefixtures("node_stopped_first")
def test_a_real_node_runs_a_pod_from_an_image_built_here_and_a_crash_leaves_nothing() -> None:
    """A Pod from the catalog image runs and logs; then kubelet and containerd are
    killed with it running (no drain), and `down` still removes the shims, the
    sandbox's netns and mounts, the Pod object and the Node: the machine is as before.
    (A clean `down` is checked by the Service test below.)"""
    paths = Paths.from_env()
    stack = Stack(Context(paths=paths, tie_to_parent=True))
    node = stack.components["node"]
    assert isinstance(node, Node)
    assert read_pid_file(node.pid_file("node")) is None, "a node is already running here"
    stack.provision(["node"])
    stack.up(["node-net"])  # stays: the address and relay outlive the node
    before = _host_state(node)
    namespace = f"node-test-{uuid.uuid4().hex[:8]}"
    pod_url = f"/api/v1/namespaces/{namespace}/pods/catalog-image"
    try:
        [*_, result] = stack.up(["node"])
        assert result.action == "started"
        print(f"node Ready in {result.ready_seconds} s")  # noqa: T201 - the measurement

        with admin_api(paths) as api:
            found = node.node_object()
            assert found is not None
            assert TAINT in found["spec"]["taints"]
            assert {"type": "InternalIP", "address": NODE_IP} in found["status"]["addresses"]
            assert found["status"]["nodeInfo"]["containerRuntimeVersion"].startswith(
                "containerd://"
            )
            others = api.get("/api/v1/pods", params={"fieldSelector": f"spec.nodeName={NODE_NAME}"})
            assert others.json()["items"] == [], "only Pods tolerating the taint may land here"

            created = api.post(
                "/api/v1/namespaces",
                json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            )
            assert created.status_code == 201, created.text
            started = time.monotonic()
            posted = api.post(f"/api/v1/namespaces/{namespace}/pods", json=_pod(namespace))
            assert posted.status_code == 201, posted.text

            def running() -> dict[str, Any] | None:
                pod: dict[str, Any] = api.get(pod_url).json()
                statuses = pod.get("status", {}).get("containerStatuses") or []
                if statuses and "running" in statuses[0]["state"]:
                    return pod
                waiting = statuses[0]["state"].get("waiting", {}) if statuses else {}
                assert waiting.get("reason") not in {"ErrImageNeverPull", "CrashLoopBackOff"}, pod
                return None

            pod = _wait("the Pod Running", running, 120)
            print(f"Pod Running in {time.monotonic() - started:.1f} s")  # noqa: T201
            assert pod["spec"]["nodeName"] == NODE_NAME
            assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(POD_SUBNET)
            container_id = pod["status"]["containerStatuses"][0]["containerID"]
            assert container_id.startswith("containerd://")
            assert container_id.removeprefix("containerd://") in node.ctr("containers", "ls", "-q")

            if _apiserver_talks_to_kubelets(paths):
                logs = _wait(
                    "the marker in the Pod's log (through the apiserver)",
                    lambda: MARKER in (text := api.get(f"{pod_url}/log").text) and text,
                    30,
                )
            else:
                print(  # noqa: T201
                    "the running kube-apiserver has no --kubelet-client-certificate yet: "
                    "asking the kubelet as the apiserver would, with its client certificate"
                )
                logs = _wait(
                    "the marker in the Pod's log (from the kubelet)",
                    lambda: MARKER in (text := _kubelet_logs(paths, namespace)) and text,
                    30,
                )
            assert "3.11" in logs
            files = "".join(p.read_text() for p in node.pod_logs_dir.glob(f"{namespace}_*/*/*"))
            assert MARKER in files, "the Pod's log belongs in the node's own log directory"

        # The crash: everything devstack started, at once (the shell around kubelet,
        # kubelet, containerd), with the Pod running.
        started_procs = [read_pid_file(node.pid_file(name)) for name in ("node", "containerd")]
        assert None not in started_procs
        victims = [p for p in started_procs if p] + [
            c for p in started_procs if p for c in p.children()
        ]
        assert any(v.name() == "kubelet" for v in victims)
        for victim in victims:
            victim.kill()
        psutil.wait_procs(victims, timeout=10)
        shims = [
            p
            for p in psutil.process_iter(["exe"])
            if (p.info["exe"] or "").endswith("-shim-runc-v2")
        ]
        assert shims, "the Pod's shim outlives containerd (it is not containerd's child)"
    finally:
        stack.down(["node"], dependents=False)
        with admin_api(paths) as api:
            pod_left = api.get(pod_url).status_code
            api.delete(f"/api/v1/namespaces/{namespace}")

    assert pod_left == 404
    with admin_api(paths) as api:
        assert api.get(f"/api/v1/nodes/{NODE_NAME}").status_code == 404
    assert not any(p.is_running() for p in shims)
    leftovers = [
        p.info["exe"]
        for p in psutil.process_iter(["exe"])
        if (p.info["exe"] or "").startswith((str(node.debian_dir), str(node.kube_dir)))
    ]
    assert leftovers == []
    after = _host_state(node)
    assert json.dumps(after, indent=1) == json.dumps(before, indent=1)


SERVER = """
import http.server, socket
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from " + socket.gethostname()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("0.0.0.0", 8000), Hello).serve_forever()
"""

# Asks the Service by its ClusterIP and by its DNS name (through CoreDNS at the
# kube-dns ClusterIP), a bounded number of times, and prints what it got.
CLIENT = """
import socket, sys, time, urllib.request
cluster_ip, name = sys.argv[1], sys.argv[2]
for target in (cluster_ip, name):
    for attempt in range(30):
        try:
            resolved = socket.gethostbyname(target)
            with urllib.request.urlopen(f"http://{target}/", timeout=3) as reply:
                print("REACHED", target, resolved, reply.read().decode(), flush=True)
            break
        except OSError as exc:
            print("retry", target, exc, flush=True)
            time.sleep(1)
    else:
        sys.exit(f"could not reach {target}")
print(open("/etc/resolv.conf").read(), flush=True)
"""


def _python_pod(namespace: str, name: str, program: str, *args: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": NODE_NAME},
            "tolerations": [{**TAINT, "operator": "Equal"}],
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": name,
                    "image": node_module.service_image("catalog"),
                    "imagePullPolicy": "Never",
                    "command": ["python", "-c", program, *args],
                }
            ],
        },
    }


KWOK_PODS = ipaddress.IPv4Network(POD_CIDR)


def _chains(node: Node) -> list[str]:
    """Every KUBE- chain in IPv4 and IPv6 tables."""
    found = []
    for binary in ("iptables-save", "ip6tables-save"):
        dump = subprocess.run(
            [str(node.bin_dir / binary)], capture_output=True, text=True, check=True
        ).stdout
        found += [line for line in dump.splitlines() if line.startswith(":KUBE-")]
    return found


@pytest.mark.usefixtures("node_stopped_first")
def test_a_pod_reaches_another_pods_service_by_cluster_ip_and_dns_name() -> None:
    """kube-proxy makes the ClusterIP real, CoreDNS (behind kube-dns) resolves
    `<svc>.<ns>.svc.cluster.local`; `down` removes kube-proxy's chains, the kube-dns
    Service and CoreDNS."""
    paths = Paths.from_env()
    stack = Stack(Context(paths=paths, tie_to_parent=True))
    node = stack.components["node"]
    assert isinstance(node, Node)
    assert read_pid_file(node.pid_file("node")) is None, "a node is already running here"
    stack.provision(["node"])
    stack.up(["node-net"])  # stays: the address and relay outlive the node
    before = _host_state(node)
    assert _chains(node) == [], "this machine had KUBE- chains before the node started"
    namespace = f"node-svc-{uuid.uuid4().hex[:8]}"
    try:
        stack.up(["node"])
        assert _chains(node), "kube-proxy wrote no KUBE- chain"
        # kwok's fake Pod IPs (where kube-proxy sends its Services) go nowhere.
        with pytest.raises(OSError) as refused:
            socket.create_connection((str(next(KWOK_PODS.hosts())), 80), timeout=2)
        assert refused.value.errno == errno.EHOSTUNREACH, refused.value
        with admin_api(paths) as api:
            dns = api.get("/api/v1/namespaces/kube-system/services/kube-dns").json()
            assert dns["spec"]["clusterIP"] == DNS_SERVICE_IP
            api.post(
                "/api/v1/namespaces",
                json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            ).raise_for_status()
            base = f"/api/v1/namespaces/{namespace}"
            api.post(
                f"{base}/pods", json=_python_pod(namespace, "hello", SERVER)
            ).raise_for_status()
            service = api.post(
                f"{base}/services",
                json={
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": "hello", "namespace": namespace},
                    "spec": {
                        "selector": {"app": "hello"},
                        "ports": [{"port": 80, "targetPort": 8000}],
                    },
                },
            )
            assert service.status_code == 201, service.text
            cluster_ip = service.json()["spec"]["clusterIP"]
            assert ipaddress.ip_address(cluster_ip) in ipaddress.ip_network(SERVICE_CIDR)
            name = f"hello.{namespace}.svc.{CLUSTER_DOMAIN}"
            client = _python_pod(namespace, "client", CLIENT, cluster_ip, name)
            api.post(f"{base}/pods", json=client).raise_for_status()

            def finished() -> str | None:
                phase: str | None = api.get(f"{base}/pods/client").json()["status"].get("phase")
                return phase if phase in {"Succeeded", "Failed"} else None

            phase = _wait("the client Pod finished", finished, 150)
            log = api.get(f"{base}/pods/client/log").text
            assert phase == "Succeeded", log
            hello = api.get(f"{base}/pods/hello").json()
            pod_ip = hello["status"]["podIP"]
            assert ipaddress.ip_address(pod_ip) in ipaddress.ip_network(POD_SUBNET)
            reached = [line.split() for line in log.splitlines() if line.startswith("REACHED")]
            assert reached == [
                ["REACHED", cluster_ip, cluster_ip, "hello", "from", "hello"],
                ["REACHED", name, cluster_ip, "hello", "from", "hello"],
            ], log
            assert f"nameserver {DNS_SERVICE_IP}" in log, log
    finally:
        with admin_api(paths) as api:
            api.delete(f"/api/v1/namespaces/{namespace}")
        stack.down(["node"], dependents=False)

    assert _chains(node) == []
    with admin_api(paths) as api:
        gone = api.get("/api/v1/namespaces/kube-system/services/kube-dns").status_code
        assert gone == 404, "the kube-dns Service must go with the node"
    assert not [p for p in psutil.process_iter(["exe"]) if p.info["exe"] == str(node.coredns)]
    assert not [p for p in psutil.process_iter(["exe"]) if p.info["exe"] == str(node.kube_proxy)]
    assert json.dumps(_host_state(node), indent=1) == json.dumps(before, indent=1)
