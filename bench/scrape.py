"""Reading a service's Prometheus counters from its /metrics (the benchmarks' helper)."""

from __future__ import annotations

import httpx


def counter_by_label(base_url: str, metric: str, label: str) -> dict[str, float]:
    """`metric`'s samples at `base_url`/metrics, by the value of `label`."""
    counts: dict[str, float] = {}
    marker = f'{label}="'
    for line in httpx.get(f"{base_url}/metrics", timeout=10).text.splitlines():
        if line.startswith(metric + "{") and marker in line:
            labels, _, value = line.rpartition(" ")
            counts[labels.split(marker)[1].split('"')[0]] = float(value)
    return counts
