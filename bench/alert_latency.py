"""Fault to first Telegram message: the burn-rate alert path, measured on devstack.

    .venv/bin/python bench/alert_latency.py            # 3 runs, about 2 minutes
    BENCH_RUNS=5 .venv/bin/python bench/alert_latency.py

Runs the end-to-end test
``tests/devstack/test_alertmanager_component.py::test_a_burning_slo_pages_telegram_and_slack_once_then_resolves``
BENCH_RUNS times. Each run has a fresh private chat stand-in, Alertmanager and
Prometheus with the sample store's rules read as a short-window SLO (windows of
10 to 30 s; scrape and evaluation every 1 s, group wait 2 s, group interval 5 s)
and records two numbers, collected here: seconds from turning the catalog's SLI
half-failing to the Telegram stand-in's first message, and from the fault to the
first resolved message (the fault lasts until the firing messages have settled,
about 8 s). Needs devstack's Prometheus binary and Alertmanager build; starts
nothing shared, leaves nothing behind.

Output: JSON on stdout and in bench/results/alert-latency.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "alert-latency.json"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
TEST = (
    "tests/devstack/test_alertmanager_component.py::"
    "test_a_burning_slo_pages_telegram_and_slack_once_then_resolves"
)


def _run_once(junit: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:cacheprovider",
         f"--junitxml={junit}", "-o", "junit_family=xunit1"],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"the end-to-end run failed:\n{result.stdout[-3000:]}")
    properties = ET.parse(junit).getroot().iter("property")  # noqa: S314 - our own file
    return {p.attrib["name"]: float(p.attrib["value"]) for p in properties}


def main() -> dict[str, Any]:
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(RUNS):
            runs.append(_run_once(Path(tmp) / f"run-{n}.xml"))
    first = [run["seconds_fault_to_first_telegram"] for run in runs]
    resolved = [run["seconds_fault_to_resolved"] for run in runs]
    return {
        "runs": RUNS,
        "seconds_fault_to_first_telegram": {
            "min": min(first), "median": statistics.median(first), "max": max(first),
        },
        "seconds_fault_to_resolved_message": {
            "min": min(resolved), "median": statistics.median(resolved), "max": max(resolved),
        },
        "settings": "scrape/evaluation 1 s, group_wait 2 s, group_interval 5 s, windows 10-30 s",
        "load_average": os.getloadavg(),
    }  # fmt: skip


if __name__ == "__main__":
    report = main()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
