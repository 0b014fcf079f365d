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
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from private_cassandra import CQL, private_node

RESULTS = Path(__file__).parent / "results" / "inventory-paxos.json"


def _run(variant: str, root: Path) -> dict[str, Any]:
    with private_node(
        f"bench-paxos-{variant}", root / variant, settings={"paxos_variant": variant}
    ) as start_seconds:
        bench = subprocess.run(
            [sys.executable, str(Path(__file__).parent / "inventory_reservations.py")],
            env={**os.environ, "BENCH_CASSANDRA_PORT": str(CQL)},
            capture_output=True,
            text=True,
            check=True,
            timeout=900,
        )
        report: dict[str, Any] = json.loads(bench.stdout)
        report["node_start_seconds"] = round(start_seconds, 1)
        return report


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
