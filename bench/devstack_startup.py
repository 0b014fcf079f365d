"""Benchmark: devstack start-to-ready per component and resident memory.

Starts every default component from stopped (data kept, so this is the warm
path `make up` takes), then reports per component the seconds from process
start to a real answer and its resident memory, plus the seconds each cached
artifact took to provision (recorded in its stamp when it was built).
Same-run baselines: a bare JVM start and a bare Python TCP listener, so the
numbers can be compared across noisy machines as ratios.

Output: JSON on stdout and in bench/results/devstack-startup.json.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from devstack.component import Context
from devstack.paths import Paths
from devstack.process import Endpoint, port_open
from devstack.stack import Stack

RESULTS = Path(__file__).parent / "results" / "devstack-startup.json"


def _jvm_start_seconds() -> float:
    started = time.monotonic()
    subprocess.run(["java", "-version"], capture_output=True, check=True)
    return time.monotonic() - started


def _listener_ready_seconds() -> float:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = (
        "import socket,time;s=socket.socket();"
        f"s.bind(('127.0.0.1',{port}));s.listen();time.sleep(30)"
    )
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        while not port_open(Endpoint("127.0.0.1", port), timeout=0.05):
            time.sleep(0.01)
        return time.monotonic() - started
    finally:
        proc.kill()
        proc.wait()


def _provision_seconds(paths: Paths) -> dict[str, float]:
    out: dict[str, float] = {}
    for stamp in sorted(paths.artifacts.glob("*/.devstack-complete.json")):
        data = json.loads(stamp.read_text())
        out[stamp.parent.name] = data.get("seconds", 0.0)
    return out


def main() -> int:
    paths = Paths.from_env()
    stack = Stack(Context(paths=paths))
    running = [s.name for s in stack.status() if s.running]
    if running:
        sys.stderr.write(
            f"bench: devstack components are running ({', '.join(running)}); "
            "run `make down` first so start-up is measured from stopped\n"
        )
        return 2
    baseline = {
        "jvm_start_seconds": round(_jvm_start_seconds(), 3),
        "listener_ready_seconds": round(_listener_ready_seconds(), 3),
    }
    started = time.monotonic()
    try:
        results = stack.up(["all"])
        total_ready = time.monotonic() - started
        status = {s.name: s for s in stack.status()}
    finally:
        stack.down()
    components = {}
    for result in results:
        if result.action == "tool":
            continue
        row = status[result.name]
        components[result.name] = {
            "ready_seconds": result.ready_seconds,
            "rss_mb": round(row.rss_bytes / 2**20, 1),
            "ready_vs_jvm_start": round(result.ready_seconds / baseline["jvm_start_seconds"], 1),
        }
    report = {
        "benchmark": "devstack-startup",
        "machine": {"cpus": os.cpu_count(), "loadavg_1m": os.getloadavg()[0]},
        "baseline": baseline,
        "components": components,
        "all_ready_seconds": round(total_ready, 1),
        "total_rss_mb": round(sum(c["rss_mb"] for c in components.values()), 1),
        # Seconds each artifact took when it was provisioned, with whatever Go and
        # Maven caches existed then: a cold number only on a fresh machine.
        "provision_seconds_when_built": _provision_seconds(paths),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
