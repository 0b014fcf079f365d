"""Benchmark: the inventory's reorder forecast and plan over N products, pure code.

Synthetic daily histories (seed 42): a third regular (Poisson, 2-20 a day), a third
intermittent (a sale on 10-40 % of days, 1-6 units), a sixth that stopped selling
(intermittent, then 30 idle days), a sixth with no sale. For each product the
service's own code (productstore_inventory.app.services.forecast and .replenishment)
fits 90 days and plans; the same-run baseline is the naive mean of the same 90
days with the same plan. Measured: time per product (forecast + plan, Cassandra
reads excluded), and accuracy on the 14 days after the window: mean absolute error
of the forecast 14-day total, and bias, per demand kind.

Starts nothing, needs nothing running. Output: JSON on stdout and in
bench/results/inventory-forecast.json.
Run: .venv/bin/python bench/inventory_forecast.py [--products N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from productstore_inventory.app.services.forecast import Forecast, forecast
from productstore_inventory.app.services.replenishment import Policy, plan

HISTORY = 90
HOLDOUT = 14
# The service's defaults (INVENTORY_FORECAST_ALPHA / _BETA); --alpha/--beta to compare.
ALPHA, BETA = 0.2, 0.1
POLICY = Policy(lead_time_days=7, review_period_days=7, service_level=0.95)
TODAY = date(2026, 1, 1)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method; means here are small.
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def histories(count: int, seed: int = 42) -> list[tuple[str, list[int]]]:
    rng = random.Random(seed)
    days = HISTORY + HOLDOUT
    found: list[tuple[str, list[int]]] = []
    for index in range(count):
        kind = ("regular", "regular", "intermittent", "intermittent", "stopped", "none")[index % 6]
        if kind == "regular":
            mean = rng.uniform(2, 20)
            series = [_poisson(rng, mean) for _ in range(days)]
        elif kind in ("intermittent", "stopped"):
            chance = rng.uniform(0.1, 0.4)
            series = [rng.randint(1, 6) if rng.random() < chance else 0 for _ in range(days)]
            if kind == "stopped":
                series[HISTORY - 30 :] = [0] * (days - (HISTORY - 30))
        else:
            series = [0] * days
        found.append((kind, series))
    return found


def mean_forecast(history: list[int]) -> Forecast:
    """The baseline: every day of the window weighs the same."""
    mean = sum(history) / len(history)
    sigma = statistics.pstdev(history) if len(history) > 1 else 0.0
    sale_days = sum(1 for sold in history if sold)
    if not sale_days:
        return Forecast("none", 0.0, 0.0, 0, 0, 0, None)
    adi = len(history) / sale_days
    return Forecast("ses", mean, sigma, len(history), sale_days, sum(history), adi)


def ours(alpha: float, beta: float) -> Callable[[list[int]], Forecast]:
    def fit(history: list[int]) -> Forecast:
        return forecast(history, alpha=alpha, beta=beta)

    return fit


def run(
    name: str, fit: Callable[[list[int]], Forecast], data: list[tuple[str, list[int]]], repeat: int
) -> dict[str, Any]:
    timings: list[float] = []
    errors: dict[str, list[float]] = {}
    suggested = 0
    for attempt in range(repeat):
        started = time.perf_counter()
        for kind, series in data:
            fitted = fit(series[:HISTORY])
            planned = plan(fitted, POLICY, 10, today=TODAY)
            if attempt == 0:
                suggested += planned.quantity is not None
                actual = sum(series[HISTORY:])
                errors.setdefault(kind, []).append(fitted.daily_demand * HOLDOUT - actual)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    return {
        "method": name,
        "seconds_best_of_runs": round(best, 4),
        "microseconds_per_product": round(best / len(data) * 1e6, 1),
        "suggested_at_10_available": suggested,
        "holdout_14_days": {
            kind: {
                "mae_units": round(statistics.fmean(abs(e) for e in values), 3),
                "bias_units": round(statistics.fmean(values), 3),
                "products": len(values),
            }
            for kind, values in sorted(errors.items())
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--alpha", type=float, default=ALPHA)
    parser.add_argument("--beta", type=float, default=BETA)
    args = parser.parse_args()
    data = histories(args.products)
    result = {
        "benchmark": "inventory-forecast",
        "products": args.products,
        "history_days": HISTORY,
        "holdout_days": HOLDOUT,
        "alpha": args.alpha,
        "beta": args.beta,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "runs": [run("ses/tsb (ours)", ours(args.alpha, args.beta), data, args.repeat)],
    }
    result["runs"].append(run("mean of the window (baseline)", mean_forecast, data, args.repeat))
    ours_us = result["runs"][0]["microseconds_per_product"]
    base_us = result["runs"][1]["microseconds_per_product"]
    result["ours_over_baseline_time"] = round(ours_us / base_us, 2)
    text = json.dumps(result, indent=2)
    out = Path(__file__).parent / "results" / "inventory-forecast.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
