"""Benchmark: the real node (`devstack up node`, opt-in): provisioning, Ready, Pod start.

Provisions the node (the seconds each artifact took when it was built are read
from its stamp: a cold number only where it was built from empty caches), then
starts it against the running apiserver, measures start-to-Ready, and creates
BENCH_PODS Pods one after another from the catalog image built here (create ->
Running, each deleted before the next), then stops it (drain, clean-up). It
leaves nothing behind: `devstack down node` removes what the node made.

Needs: kube-apiserver running; the node stopped. Output: JSON on stdout and in
bench/results/node-startup.json.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from devstack.component import Context
from devstack.components.kube_cluster import admin_api
from devstack.components.node import NODE_NAME, TAINT, Node, service_image
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
    finally:
        with admin_api(paths) as api:
            api.delete(f"/api/v1/namespaces/{namespace}")
        stopping = time.monotonic()
        stack.down(["node"], dependents=False)
        down_seconds = time.monotonic() - stopping
    stamps = {}
    for directory in (node.debian_dir, node.kube_dir, node.pause_dir, node.base_dir):
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
        "down_seconds": round(down_seconds, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
