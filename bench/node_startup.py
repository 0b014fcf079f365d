"""Benchmark: the real node (`devstack up node`): provisioning, Ready, Pod start,
kube-proxy's and CoreDNS's reaction to a new Service.

Provisions the node (the seconds each artifact took when it was built are read
from its stamp: a cold number only where it was built from empty caches), then
starts it against the running apiserver, measures start-to-Ready (Ready includes
kube-proxy's first sync and CoreDNS's readiness), and creates BENCH_PODS Pods one
after another from the catalog image built here (create -> Running, each deleted
before the next). Then it creates a Service and measures how long until
kube-proxy has a rule for its ClusterIP and CoreDNS answers its name, and
stops the node (drain, clean-up). It leaves nothing behind: `devstack down node`
removes what the node made.

Needs: kube-apiserver running; the node stopped. Output: JSON on stdout and in
bench/results/node-startup.json.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import statistics
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from devstack.component import Context
from devstack.components.coredns import CoreDns
from devstack.components.kube_cluster import CLUSTER_DOMAIN, admin_api
from devstack.components.node import DNS_PORT, NODE_NAME, TAINT, Node, service_image
from devstack.node_address import NODE_IP
from devstack.paths import Paths
from devstack.process import read_pid_file
from devstack.stack import Stack

RESULTS = Path(__file__).parent / "results" / "node-startup.json"


def _pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": NODE_NAME},
            "tolerations": [{**TAINT, "operator": "Equal"}],
            "dnsPolicy": "Default",
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "catalog",
                    "image": service_image("catalog"),
                    "imagePullPolicy": "Never",
                    "command": ["python", "-c", "import time; time.sleep(600)"],
                }
            ],
        },
    }


def _pod_start_seconds(paths: Paths, namespace: str, count: int) -> list[float]:
    out = []
    with admin_api(paths) as api:
        for i in range(count):
            url = f"/api/v1/namespaces/{namespace}/pods"
            started = time.monotonic()
            created = api.post(url, json=_pod(f"bench-{i}"))
            created.raise_for_status()
            deadline = started + 120
            while time.monotonic() < deadline:
                statuses = api.get(f"{url}/bench-{i}").json()["status"].get("containerStatuses")
                if statuses and "running" in statuses[0]["state"]:
                    out.append(round(time.monotonic() - started, 2))
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"Pod bench-{i} was not Running within 120 s")
            api.delete(f"{url}/bench-{i}", params={"gracePeriodSeconds": "0"})
    return out


def _dns_a(name: str) -> str | None:
    """One A query to CoreDNS on the node address: the first answer's address, if any."""
    query_id = secrets.randbelow(2**16)
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.split("."))
    packet = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + question + b"\0\0\1\0\1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1)
        sock.sendto(packet, (NODE_IP, DNS_PORT))
        try:
            reply = sock.recv(512)
        except TimeoutError:
            return None
    answers = struct.unpack("!H", reply[6:8])[0]
    if answers == 0 or reply[:2] != packet[:2]:
        return None
    # The answer follows the echoed question: its owner name (labels, or a
    # compression pointer), then type, class, TTL, length, address.
    at = len(packet)
    while reply[at] != 0 and reply[at] < 0xC0:
        at += 1 + reply[at]
    at += 2 if reply[at] >= 0xC0 else 1
    kind, _, _, length = struct.unpack("!HHIH", reply[at : at + 10])
    if kind != 1 or length != 4:
        return None
    return socket.inet_ntoa(reply[at + 10 : at + 14])


def _service_seconds(paths: Paths, node: Node, namespace: str) -> dict[str, float]:
    """A new Service -> its ClusterIP in kube-proxy's rules, and its name in CoreDNS."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "bench"},
        "spec": {"selector": {"app": "bench"}, "ports": [{"port": 80}]},
    }
    name = f"bench.{namespace}.svc.{CLUSTER_DOMAIN}"
    out: dict[str, float] = {}
    with admin_api(paths) as api:
        started = time.monotonic()
        created = api.post(f"/api/v1/namespaces/{namespace}/services", json=service)
        created.raise_for_status()
    cluster_ip = created.json()["spec"]["clusterIP"]
    # No endpoints yet: kube-proxy's rule for it is a REJECT in the filter table.
    save = [str(node.bin_dir / "iptables-save")]
    deadline = started + 60
    while time.monotonic() < deadline and len(out) < 2:
        if (
            "kube_proxy_rules_seconds" not in out
            and cluster_ip
            in subprocess.run(save, capture_output=True, text=True, check=True).stdout
        ):
            out["kube_proxy_rules_seconds"] = round(time.monotonic() - started, 2)
        if "coredns_answer_seconds" not in out and _dns_a(name) == cluster_ip:
            out["coredns_answer_seconds"] = round(time.monotonic() - started, 2)
        time.sleep(0.05)
    if len(out) < 2:
        raise RuntimeError(f"Service {name} ({cluster_ip}) in 60 s: only {out}")
    return out


def main() -> int:
    paths = Paths.from_env()
    stack = Stack(Context(paths=paths))
    node = stack.components["node"]
    if not isinstance(node, Node):
        raise TypeError("devstack's node component is not devstack.components.node.Node")
    if read_pid_file(node.pid_file("node")) is not None:
        sys.stderr.write("bench: the node is running; `devstack down node` first\n")
        return 2
    count = int(os.environ.get("BENCH_PODS", "3"))
    started = time.monotonic()
    stack.provision(["node"])
    provision_now = time.monotonic() - started
    namespace = f"bench-node-{uuid.uuid4().hex[:8]}"
    try:
        [*_, result] = stack.up(["node"])
        rss = {s.name: s.rss_bytes for s in stack.status(["node"])}
        with admin_api(paths) as api:
            api.post(
                "/api/v1/namespaces",
                json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            ).raise_for_status()
        pods = _pod_start_seconds(paths, namespace, count)
        service = _service_seconds(paths, node, namespace)
    finally:
        with admin_api(paths) as api:
            api.delete(f"/api/v1/namespaces/{namespace}")
        stopping = time.monotonic()
        stack.down(["node"], dependents=False)
        down_seconds = time.monotonic() - stopping
    stamps = {}
    coredns = CoreDns(stack.ctx).install_dir
    for directory in (node.debian_dir, node.kube_dir, coredns, node.pause_dir, node.base_dir):
        stamp = json.loads((directory / ".devstack-complete.json").read_text())
        stamps[directory.name] = stamp["seconds"]
    report = {
        "benchmark": "node-startup",
        "machine": {"cpus": os.cpu_count(), "loadavg_1m": os.getloadavg()[0]},
        # With whatever caches existed when each was built (Go build cache, PyPI).
        "provision_seconds_when_built": stamps,
        # This run: only what changed (the service images' buildah steps, their export).
        "provision_seconds_this_run": round(provision_now, 1),
        "node_ready_seconds": result.ready_seconds,
        "node_rss_mb": round(rss.get("node", 0) / 2**20, 1),
        "pod_running_seconds": pods,
        "pod_running_seconds_median": statistics.median(pods) if pods else None,
        **service,
        "down_seconds": round(down_seconds, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
