"""Benchmark: reviews classified per second by the offline moderator (one process).

The reviews service classifies each review as it is written (POST and PATCH), on a
worker thread: this measures that cost alone, with no HTTP or Cassandra, over the
labelled set (tests/reviews/data/labelled_reviews.tsv, ru and en mixed), repeated
to --seconds. Reported per language and overall: reviews per second and per-review
latency at p50/p99, the model load time, and the set's accuracy (the same numbers
the labelled-set test holds floors for), first pass with cold lemma caches.

Output: JSON on stdout and in bench/results/reviews-classify.json.
Run: .venv/bin/python bench/reviews_classify.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from productstore_reviews.moderation import Moderator

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "reviews" / "data" / "labelled_reviews.tsv"
OUT = ROOT / "bench" / "results" / "reviews-classify.json"


def _labelled() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    reviews = _labelled()

    started = time.perf_counter()
    moderator = Moderator()
    load_seconds = time.perf_counter() - started

    right = {"sentiment": 0, "decision": 0, "language": 0}
    cold: list[float] = []
    for review in reviews:
        begun = time.perf_counter()
        verdict = moderator.classify("", review["text"], int(review["rating"]))
        cold.append(time.perf_counter() - begun)
        right["sentiment"] += verdict.sentiment_label == review["sentiment"]
        right["decision"] += verdict.decision.value == review["decision"]
        right["language"] += verdict.language == review["language"]

    latencies: dict[str, list[float]] = {}
    deadline = time.perf_counter() + args.seconds
    began = time.perf_counter()
    count = 0
    while time.perf_counter() < deadline:
        for review in reviews:
            begun = time.perf_counter()
            moderator.classify("", review["text"], int(review["rating"]))
            latencies.setdefault(review["language"], []).append(time.perf_counter() - begun)
            count += 1
    elapsed = time.perf_counter() - began

    def summary(values: list[float]) -> dict[str, Any]:
        return {
            "reviews": len(values),
            "per_second": round(len(values) / sum(values), 1),
            "p50_ms": round(_percentile(values, 0.5) * 1000, 3),
            "p99_ms": round(_percentile(values, 0.99) * 1000, 3),
            "mean_ms": round(statistics.fmean(values) * 1000, 3),
        }

    result = {
        "benchmark": "reviews_classify",
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "labelled_reviews": len(reviews),
        "model_load_seconds": round(load_seconds, 2),
        "accuracy": {task: round(n / len(reviews), 4) for task, n in right.items()},
        "cold_first_pass": summary(cold),
        "overall": {"reviews": count, "per_second": round(count / elapsed, 1)},
        "by_language": {lang: summary(values) for lang, values in sorted(latencies.items())},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
