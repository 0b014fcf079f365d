"""Benchmark: catalog reads and searches through the nginx gateway, with wrk.

Runs through http://127.0.0.1:8080, each after a warm-up (wrk, 2 threads,
32 connections unless said otherwise):

- ceiling: a bare FastAPI endpoint (bench/ceiling_app.py) run by uvicorn exactly
  as devstack runs the services, behind a route rendered by the same template;
- product_read: GET /api/products/{id} for 2,000 random ids of a 100,000-product
  catalog, each read once before (the cached read, as for a popular product page).
  Ceiling and reads alternate in three rounds (BENCH_READ_ROUNDS); every round's
  ratio is in `read_rounds`, and `runs` and the ratio are the median round's;
- search: typical searches (Russian and English words, category, price, stock and
  rating filters, sort orders) on that catalog; again with one connection
  (search_one_client), the latency of a search without queueing. Twelve searches
  repeated: after the first of each, the replica's page cache answers them (the
  popular searches of a store);
- search_distinct: 40,000 different searches (catalog words, categories, sort
  orders, page sizes), so most run in the index (the long tail); again with one
  connection (search_distinct_one_client). Each search run reports the page
  cache's hits and misses during it.

The catalog here is a separate instance (own port, keyspace, Kafka topic and
Redis prefix), bulk-loaded through Cassandra and then restarted so it builds
its search index from the table, like a replica starting. It is reached at
/bench/catalog/ (the gateway strips the prefix); the devstack catalog and its
data are not touched. The gateway's per-address rate limit would refuse a
benchmark from one address, so it is raised for the run and restored after:
the numbers are nginx + uvicorn + the catalog, without rate limiting.

Output: JSON on stdout and in bench/results/gateway-wrk.json. Everything the
benchmark starts or creates is stopped or deleted at the end.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import urlencode

import httpx
from catalog_data import SEARCHES, bulk_load, free_port
from catalog_data import cleanup as drop_bench_data
from scrape import counter_by_label
from wrk_paths import run_wrk, write_paths

from devstack import process
from devstack.component import Context
from devstack.components.nginx import Nginx, Wrk
from devstack.components.services import (
    CatalogService,
    render_location,
    render_upstream,
    uvicorn_argv,
)
from devstack.paths import Paths
from devstack.stack import Stack
from productstore_catalog.demo.corpus import CATEGORIES, generate_products

BENCH_DIR = Path(__file__).parent
RESULTS = BENCH_DIR / "results" / "gateway-wrk.json"
PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "100000"))
WRK_THREADS = 2
WRK_CONNECTIONS = 32
WARMUP_SECONDS = 5
RUN_SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
# The hot set read: each id is read once before the run, so the run measures the
# cached read (the steady state of a product page), not Cassandra misses.
READ_IDS = 2_000
DISTINCT_SEARCHES = 40_000
# Ceiling and product reads alternate this many times; the median ratio is reported.
READ_ROUNDS = int(os.environ.get("BENCH_READ_ROUNDS", "3"))
PAGE_CACHE_LOOKUPS = "catalog_search_page_cache_lookups_total"
# Raised for the run (see the module docstring), restored afterwards.
BENCH_LIMITS = {"gateway.rate": "1000000", "gateway.burst": "1000000"}
# The bench catalog samples traces as the chart deploys the services (10 %,
# charts/productstore tracing.sampleRatio), not as devstack's services do (every
# request, for debugging). BENCH_TRACE_SAMPLE_RATIO measures another rate.
TRACING = {"TRACE_SAMPLE_RATIO": os.environ.get("BENCH_TRACE_SAMPLE_RATIO", "0.1")}


@contextmanager
def _running(paths: Paths, spec: process.ProcessSpec, url: str, timeout: float) -> Iterator[float]:
    """Run `spec` until the block ends; yields the seconds it took to answer /readyz or /item."""
    pid_file = paths.pid_file(spec.name)
    log_file = paths.log_file(spec.name)
    process.start(spec, log_file=log_file, pid_file=pid_file, tie_to_parent=True)
    try:
        seconds = process.wait_until_ready(
            spec.name,
            lambda: httpx.get(url, timeout=5).status_code == 200,
            timeout=timeout,
            pid_files=[pid_file],
            log_file=log_file,
            hint="see the log",
        )
        yield seconds
    except BaseException:
        process.stop(pid_file)
        raise  # the log stays, for the post-mortem
    process.stop(pid_file)
    log_file.unlink(missing_ok=True)


def _measure(
    wrk: Wrk,
    base: str,
    paths: list[str],
    folder: Path,
    name: str,
    *,
    connections: int = WRK_CONNECTIONS,
) -> dict[str, Any]:
    paths_file = write_paths(paths, folder / f"{name}.txt")
    run = partial(
        run_wrk, wrk.binary, base, paths_file, connections=connections, threads=WRK_THREADS
    )
    run(seconds=WARMUP_SECONDS)  # fills caches, opens connections
    return run(seconds=RUN_SECONDS)


def _distinct_searches(count: int) -> list[dict[str, str]]:
    """`count` different searches: words of the corpus's names, alone or in pairs,
    with or without a category, in every sort order and three page sizes."""
    words = sorted(
        {
            word.lower()
            for product in generate_products(3000, seed=1)
            for word in product.name.split()
            if len(word) >= 4 and word.isalpha()
        }
    )
    rng = random.Random(11)
    sorts = ("relevance", "price_asc", "price_desc", "rating", "newest", "name")
    categories = [None, *(c.slug for c in CATEGORIES)]
    found: dict[str, dict[str, str]] = {}
    while len(found) < count:
        q = rng.choice(words)
        if rng.random() < 0.3:
            q += " " + rng.choice(words)
        search = {"q": q, "sort_by": rng.choice(sorts), "limit": rng.choice(("10", "20", "30"))}
        category = rng.choice(categories)
        if category is not None:
            search["category"] = category
        found[urlencode(search)] = search
    return list(found.values())


def _measure_search(
    wrk: Wrk, base: str, paths: list[str], folder: Path, name: str, *, catalog: str, **kw: Any
) -> dict[str, Any]:
    """`_measure`, with the page cache's hits and misses during the run (and warm-up)."""
    before = counter_by_label(catalog, PAGE_CACHE_LOOKUPS, "outcome")
    result = _measure(wrk, base, paths, folder, name, **kw)
    after = counter_by_label(catalog, PAGE_CACHE_LOOKUPS, "outcome")
    result["page_cache"] = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in ("hit", "miss")}
    return result


def _run(stack: Stack, paths: Paths, folder: Path) -> dict[str, Any]:
    nginx, catalog, wrk = (stack.components[n] for n in ("nginx", "catalog", "wrk"))
    assert isinstance(nginx, Nginx) and isinstance(catalog, CatalogService)  # noqa: S101 - narrows for mypy
    assert isinstance(wrk, Wrk)  # noqa: S101 - narrows for mypy
    tag = uuid.uuid4().hex[:8]
    keyspace, topic, prefix = f"bench_catalog_{tag}", f"productstore.bench-{tag}", f"bench-{tag}"
    ceiling_port, catalog_port = free_port(), free_port()
    report: dict[str, Any] = {"bench_keyspace": keyspace}
    with ExitStack() as cleanup:
        cleanup.callback(drop_bench_data, keyspace, topic, prefix)
        catalog.ensure_cassandra_role(keyspace)  # the instance logs in as its own role
        catalog_spec = catalog.process_spec(
            name=f"bench-catalog-{tag}",
            port=catalog_port,
            keyspace=keyspace,
            extra_env={
                **TRACING,
                "EVENTS_TOPIC": topic,
                "REDIS_KEY_PREFIX": prefix,
                "SEARCH_CONSUMER_GROUP_PREFIX": prefix,
            },
        )
        ready = f"http://127.0.0.1:{catalog_port}/readyz"
        with _running(paths, catalog_spec, ready, timeout=180):
            pass  # the first start creates the keyspace and the tables
        ids, report["bulk_load_seconds"] = bulk_load(keyspace, PRODUCTS)
        report["index_load_ready_seconds"] = round(
            cleanup.enter_context(_running(paths, catalog_spec, ready, timeout=600)), 1
        )
        ceiling_spec = process.ProcessSpec(
            name=f"bench-ceiling-{tag}",
            argv=uvicorn_argv("ceiling_app:create_app", ceiling_port),
            env={"PYTHONPATH": str(BENCH_DIR)},
            cwd=BENCH_DIR,
        )
        cleanup.enter_context(
            _running(paths, ceiling_spec, f"http://127.0.0.1:{ceiling_port}/item", timeout=60)
        )

        upstreams = nginx.upstreams_dir / f"bench-{tag}.conf"
        routes = nginx.routes_dir / f"bench-{tag}.conf"
        cleanup.callback(nginx.reload)
        cleanup.callback(routes.unlink, missing_ok=True)
        cleanup.callback(upstreams.unlink, missing_ok=True)
        upstreams.write_text(
            render_upstream(f"bceil{tag}", ceiling_port)
            + render_upstream(f"bcat{tag}", catalog_port)
        )
        routes.write_text(
            render_location("/bench/ceiling/", f"bceil{tag}", uri="/")
            + render_location("/bench/catalog/", f"bcat{tag}", uri="/")
        )
        # Limits up (the whole gateway, for the run's length), then back to the defaults.
        cleanup.callback(nginx.after_ready)
        Nginx(Context(paths=paths, options=BENCH_LIMITS)).after_ready()
        nginx.reload()
        sample = random.Random(3).sample(ids, min(READ_IDS, len(ids)))
        searches = [f"/bench/catalog/api/products/search?{urlencode(s)}" for s in SEARCHES]
        distinct = [
            f"/bench/catalog/api/products/search?{urlencode(s)}"
            for s in _distinct_searches(DISTINCT_SEARCHES)
        ]
        direct = f"http://127.0.0.1:{catalog_port}"
        probes = ["/bench/ceiling/item", f"/bench/catalog/api/products/{sample[0]}", searches[0]]
        for _ in range(50):  # the workers switch over asynchronously
            answers = [httpx.get(f"{nginx.url}{path}", timeout=30) for path in probes]
            if all(a.status_code == 200 for a in answers):
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"the bench routes do not answer: {[a.text[:300] for a in answers]}")
        report["search_matches"] = {
            s: httpx.get(f"{nginx.url}{s}", timeout=30).json()["total"] for s in searches
        }
        with httpx.Client(base_url=nginx.url, timeout=30) as client:
            for product_id in sample:
                client.get(f"/bench/catalog/api/products/{product_id}").raise_for_status()
        reads = [f"/bench/catalog/api/products/{i}" for i in sample]
        rounds = []
        for _ in range(READ_ROUNDS):
            ceiling = _measure(wrk, nginx.url, ["/bench/ceiling/item"], folder, "ceiling")
            read = _measure(wrk, nginx.url, reads, folder, "read")
            ratio = read["requests_per_second"] / ceiling["requests_per_second"]
            rounds.append({"ceiling": ceiling, "product_read": read, "ratio": round(ratio, 3)})
        middle = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
        report["read_rounds"] = [
            {
                "ceiling_rps": r["ceiling"]["requests_per_second"],
                "product_read_rps": r["product_read"]["requests_per_second"],
                "ratio": r["ratio"],
            }
            for r in rounds
        ]
        report["runs"] = {
            # The round with the median ratio (the machine is shared: rounds differ).
            "ceiling": middle["ceiling"],
            "product_read": middle["product_read"],
            "search": _measure_search(wrk, nginx.url, searches, folder, "search", catalog=direct),
            # One client: the search's own latency, without queueing behind 31 others.
            "search_one_client": _measure_search(
                wrk, nginx.url, searches, folder, "search1", catalog=direct, connections=1
            ),
            "search_distinct": _measure_search(
                wrk, nginx.url, distinct, folder, "distinct", catalog=direct
            ),
            "search_distinct_one_client": _measure_search(
                wrk, nginx.url, distinct, folder, "distinct1", catalog=direct, connections=1
            ),
        }
    return report


def main() -> int:
    paths = Paths.from_env()
    stack = Stack(Context(paths=paths, tie_to_parent=True))
    load_before = os.getloadavg()
    results = stack.up(["nginx", "auth", "catalog", "wrk"])
    started = [r.name for r in results if r.action == "started"]
    try:
        with TemporaryDirectory(prefix="bench-gateway-") as folder:
            report = _run(stack, paths, Path(folder))
    finally:
        if started:
            stack.down(started, dependents=False)
    runs = report["runs"]
    ratio = runs["product_read"]["requests_per_second"] / runs["ceiling"]["requests_per_second"]
    out = {
        "benchmark": "gateway-wrk",
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "note": "shared 2-core machine with other jobs running: numbers are noisy",
        },
        "config": {
            "products": PRODUCTS,
            "wrk": {
                "threads": WRK_THREADS,
                "connections": WRK_CONNECTIONS,
                "warmup_seconds": WARMUP_SECONDS,
                "seconds": RUN_SECONDS,
            },
            "gateway_rate_limit": "raised to 1e6 r/s per address for the run (default 100 r/s, "
            "burst 200); every other gateway setting as `make up` runs it",
            "uvicorn_workers": 1,
            "catalog_trace_sample_ratio": TRACING["TRACE_SAMPLE_RATIO"],
        },
        **{k: v for k, v in report.items() if k != "runs"},
        "runs": runs,
        "product_read_vs_ceiling": round(ratio, 3),
        "targets": {
            "product_read_vs_ceiling_at_least_0.6": ratio >= 0.6,
            "search_p99_under_50ms": runs["search"]["p99_ms"] < 50,
            "search_one_client_p99_under_50ms": runs["search_one_client"]["p99_ms"] < 50,
            "search_distinct_p99_under_50ms": runs["search_distinct"]["p99_ms"] < 50,
            "search_distinct_one_client_p99_under_50ms": (
                runs["search_distinct_one_client"]["p99_ms"] < 50
            ),
            "product_read_p99_under_100ms": runs["product_read"]["p99_ms"] < 100,
            "product_read_at_least_5000_rps": runs["product_read"]["requests_per_second"] >= 5000,
            "error_rate_under_0.01%": all(r["error_rate"] < 0.0001 for r in runs.values()),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
