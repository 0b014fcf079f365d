"""Paxos v1 against v2 for inventory's reservations, on private Cassandra nodes.

    .venv/bin/python bench/inventory_paxos.py        # about 3-4 minutes

The shared devstack node is never restarted: for each variant this starts a
single Cassandra node of its own (devstack's cassandra.yaml with `paxos_variant`
set, ports 29042/27000/27199, a temporary directory), runs
bench/inventory_reservations.py against it, and stops it. Output: JSON on stdout
and in bench/results/inventory-paxos.json.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cassandra.cluster import Cluster

from devstack.components.cassandra import _node_spec, _write_node_config, cassandra_lib_dir
from devstack.paths import Paths

RESULTS = Path(__file__).parent / "results" / "inventory-paxos.json"
CQL, STORAGE, JMX = 29042, 27000, 27199
START_TIMEOUT = 240.0


def _wait_for_cql(deadline: float) -> None:
    while True:
        cluster = Cluster(["127.0.0.1"], port=CQL)
        try:
            cluster.connect().shutdown()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)
        else:
            return
        finally:
            cluster.shutdown()


def _run(variant: str, root: Path) -> dict[str, Any]:
    node = root / variant
    _write_node_config(
        node,
        cluster_name=f"bench-paxos-{variant}",
        address="127.0.0.1",
        authentication=False,
        seeds=f"127.0.0.1:{STORAGE}",
        cql_port=CQL,
        storage_port=STORAGE,
        extra={"paxos_variant": variant, "auto_bootstrap": False},
    )
    spec = _node_spec(
        f"bench-paxos-{variant}",
        lib_dir=cassandra_lib_dir(Paths.from_env()),
        node_dir=node,
        heap=("512m", "512m"),
        jmx_port=JMX,
    )
    log = (node / "logs" / "stdout.log").open("w")
    process = subprocess.Popen(
        list(spec.argv),
        env={**os.environ, **spec.env},
        cwd=spec.cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        started = time.monotonic()
        _wait_for_cql(started + START_TIMEOUT)
        bench = subprocess.run(
            [sys.executable, str(Path(__file__).parent / "inventory_reservations.py")],
            env={**os.environ, "BENCH_CASSANDRA_PORT": str(CQL)},
            capture_output=True,
            text=True,
            check=True,
            timeout=900,
        )
        report: dict[str, Any] = json.loads(bench.stdout)
        report["node_start_seconds"] = round(time.monotonic() - started, 1)
        return report
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def main() -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-paxos-"))
    try:
        runs = {variant: _run(variant, root) for variant in ("v1", "v2")}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"benchmark": "inventory-paxos", "runs": runs}


if __name__ == "__main__":
    report = main()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
