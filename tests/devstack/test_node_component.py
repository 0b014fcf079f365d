"""devstack's `node` component: a real kubelet joined to devstack's apiserver runs a Pod
from an image built here from services/Dockerfile, and `down` leaves the machine as it was.

Opt-in (PRODUCTSTORE_REAL_NODE=1): it provisions for minutes on a cold cache and
changes the machine while it runs (a bridge, firewall rules, kernel settings).
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import os
import re
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
from devstack.components import kube, node_build
from devstack.components import node as node_module
from devstack.components.kube_cluster import admin_api, pki_files
from devstack.components.node import KUBELET_PORT, NODE_IP, NODE_NAME, POD_SUBNET, TAINT, Node
from devstack.paths import Paths
from devstack.process import read_pid_file
from devstack.stack import Stack

OPT_IN = "PRODUCTSTORE_REAL_NODE"

needs_opt_in = pytest.mark.skipif(
    os.environ.get(OPT_IN) != "1",
    reason=f"the real node is opt-in: {OPT_IN}=1 provisions and starts containerd and a "
    "kubelet, which change this machine's network while they run",
)

MARKER = "productstore catalog image on a real node"


def test_the_kubelet_is_the_control_planes_version() -> None:
    """node.py cannot import kube.py (independent components): the copy must agree."""
    assert node_module.KUBERNETES_VERSION == kube.KUBERNETES_VERSION


TEST_RANGES = [ipaddress.ip_network(n) for n in ("198.18.0.0/15", "198.51.100.0/24")]


def _addresses(text: str) -> set[str]:
    return set(re.findall(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?:/\d+)?(?![\d.])", text))


def test_the_node_stays_off_and_uses_only_test_addresses(tmp_path: Path) -> None:
    """Off in `all` (make up, make test, CI); every address in its configuration is
    loopback or from a range reserved for testing, never 10/8, 172.16/12, 192.168/16 or
    192.0.2.0/24 (this VM's own uplink)."""
    stack = Stack(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    node = stack.components["node"]
    assert isinstance(node, Node)
    assert "node" not in stack.default_names()
    assert stack.expand(["node"]) == ["etcd", "kube-apiserver", "node"]
    configs = {
        "containerd": node._containerd_config(),
        "cni": json.dumps(node._cni_conflist()),
        "kubelet": json.dumps(node._kubelet_config()),
        "argv": " ".join(arg for spec in node.processes() for arg in spec.argv),
    }
    for name, text in configs.items():
        for address in _addresses(text):
            ip = ipaddress.ip_address(address)
            allowed = ip.is_loopback or ip.is_unspecified  # 0.0.0.0/0: the default route
            assert allowed or any(ip in net for net in TEST_RANGES), (name, address)
    assert "198.18.0.0/24" in configs["cni"] and NODE_IP in configs["kubelet"]


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
        "nft tables": out(str(node.bin_dir / "nft"), "list", "tables").splitlines(),
        "links": sorted(
            line.split(":")[1].strip() for line in out("ip", "-o", "link").splitlines()
        ),
        "addresses": sorted(
            " ".join(line.split()[1:4]) for line in out("ip", "-o", "addr").splitlines()
        ),
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


@needs_opt_in
def test_a_real_node_runs_a_pod_from_an_image_built_here_and_leaves_nothing() -> None:
    paths = Paths.from_env()
    stack = Stack(Context(paths=paths, tie_to_parent=True))
    node = stack.components["node"]
    assert isinstance(node, Node)
    assert "node" not in stack.default_names(), "the node must stay off a plain `devstack up`"
    assert read_pid_file(node.pid_file("node")) is None, "a node is already running here"
    stack.provision(["node"])
    before = _host_state(node)
    namespace = f"node-test-{uuid.uuid4().hex[:8]}"
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
            pod_url = f"/api/v1/namespaces/{namespace}/pods/catalog-image"

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
    finally:
        with admin_api(paths) as api:
            api.delete(f"/api/v1/namespaces/{namespace}")
        stack.down(["node"], dependents=False)

    with admin_api(paths) as api:
        assert api.get(f"/api/v1/nodes/{NODE_NAME}").status_code == 404
    leftovers = [
        p.info["exe"]
        for p in psutil.process_iter(["exe"])
        if (p.info["exe"] or "").startswith((str(node.debian_dir), str(node.kube_dir)))
    ]
    assert leftovers == []
    after = _host_state(node)
    assert json.dumps(after, indent=1) == json.dumps(before, indent=1)


@needs_opt_in
def test_down_after_a_crash_still_leaves_nothing() -> None:
    """kubelet and containerd killed with a Pod running (no drain): the shims, the
    sandbox's netns and mounts, the Pod object and the Node are still removed."""
    paths = Paths.from_env()
    stack = Stack(Context(paths=paths, tie_to_parent=True))
    node = stack.components["node"]
    assert isinstance(node, Node)
    assert read_pid_file(node.pid_file("node")) is None, "a node is already running here"
    stack.provision(["node"])
    before = _host_state(node)
    namespace = f"node-crash-{uuid.uuid4().hex[:8]}"
    try:
        stack.up(["node"])
        with admin_api(paths) as api:
            api.post(
                "/api/v1/namespaces",
                json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            ).raise_for_status()
            pod_url = f"/api/v1/namespaces/{namespace}/pods/catalog-image"
            api.post(
                f"/api/v1/namespaces/{namespace}/pods", json=_pod(namespace)
            ).raise_for_status()

            def running() -> bool:
                statuses = api.get(pod_url).json().get("status", {}).get("containerStatuses")
                return bool(statuses) and "running" in statuses[0]["state"]

            _wait("the Pod Running", running, 120)
        # Everything devstack started, at once: the shell around kubelet, kubelet, containerd.
        started = [read_pid_file(node.pid_file(name)) for name in ("node", "containerd")]
        assert None not in started
        victims = [p for p in started if p] + [c for p in started if p for c in p.children()]
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
    ours = (str(node.debian_dir), str(node.kube_dir))
    assert not [p for p in psutil.process_iter(["exe"]) if (p.info["exe"] or "").startswith(ours)]
    assert json.dumps(_host_state(node), indent=1) == json.dumps(before, indent=1)
