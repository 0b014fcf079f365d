"""Profile and measure the catalog's read paths directly against uvicorn (no gateway).

    .venv/bin/python bench/profile_catalog.py                 # measure
    .venv/bin/python bench/profile_catalog.py --profile       # also cProfile the catalog

Starts, on free loopback ports, the bench ceiling app (bench/ceiling_app.py) and a
catalog instance with its own keyspace, Kafka topic and Redis prefix, both served
by uvicorn exactly as devstack serves the services (`uvicorn_argv`), bulk-loads
`--products` demo products straight into Cassandra, restarts the catalog (it then
builds its search index from the table, like a replica starting) and runs wrk
against the ceiling, product reads by id and typical searches (the searches of
bench/gateway_wrk.py). The machine is shared: compare each run with the ceiling
measured in the same run. With `--profile` the catalog runs under cProfile and the
top functions (cumulative and own time) are written beside the results.

Output: JSON on stdout and in bench/results/catalog-profile.json (`--out`).
Everything it starts or creates is stopped or deleted at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import urlencode

import httpx
import psutil
from catalog_data import SEARCHES, bulk_load, free_port
from catalog_data import cleanup as drop_bench_data
from scrape import counter_by_label
from wrk_paths import run_wrk, write_paths

from devstack import cassandra_auth
from devstack.components.services import uvicorn_argv
from devstack.paths import Paths

BENCH_DIR = Path(__file__).parent
RESULTS = BENCH_DIR / "results" / "catalog-profile.json"
CACHE_READS = "catalog_product_cache_reads_total"
JWKS_URL = "http://127.0.0.1:8101/api/auth/.well-known/jwks.json"


@contextmanager
def _serving(argv: list[str], env: dict[str, str], url: str, log: Path) -> Iterator[psutil.Process]:
    """Run `argv` until the block ends (SIGINT: uvicorn's graceful stop, which also
    lets cProfile write its file)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=BENCH_DIR
        )
    try:
        deadline = time.monotonic() + 900
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[-1]} exited; see {log}")
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} not ready; see {log}")
            time.sleep(0.5)
        yield psutil.Process(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wrk(url: str, paths: list[str], folder: Path, *, seconds: int, conns: int) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (devstack's `wrk` component: apt install wrk)")
    paths_file = write_paths(paths, folder / f"paths-{uuid.uuid4().hex}.txt")
    return run_wrk(wrk, url, paths_file, seconds=seconds, connections=conns)


def _measured(
    server: psutil.Process, base: str, paths: list[str], folder: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """A warm-up, then the run; adds the server's CPU time per request (user + system),
    which a loaded machine disturbs less than the request rate."""
    _wrk(base, paths, folder, seconds=args.warmup, conns=args.connections)
    before = server.cpu_times()
    result = _wrk(base, paths, folder, seconds=args.seconds, conns=args.connections)
    after = server.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    requests = result["requests_per_second"] * args.seconds
    result["server_cpu_ms_per_request"] = round(1000 * cpu / max(requests, 1), 3)
    return result


def _profile_summary(path: Path, lines: int = 45) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(lines)
    return out.getvalue()


def main() -> int:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--read-ids", type=int, default=2000, help="distinct ids read")
    parser.add_argument("--profile", action="store_true", help="run the catalog under cProfile")
    parser.add_argument("--trace-ratio", default="0", help="the catalog's TRACE_SAMPLE_RATIO")
    parser.add_argument("--out", type=Path, default=RESULTS)
    # A baseline: another copy of the packages first on the path (both servers), and
    # uvicorn options such as `--loop asyncio --http h11` (both servers).
    parser.add_argument("--pythonpath", default=None, help="prepended to both servers' path")
    parser.add_argument("--uvicorn-args", default="", help="extra uvicorn arguments, both servers")
    args = parser.parse_args()

    paths = Paths.from_env()
    tag = uuid.uuid4().hex[:8]
    keyspace, topic, prefix = f"bench_prof_{tag}", f"productstore.benchprof-{tag}", f"bprof-{tag}"
    catalog_port, ceiling_port = free_port(), free_port()
    env = {
        f"CATALOG_{k}": v
        for k, v in {
            "ENVIRONMENT": "development",
            "MIGRATE_ON_START": "true",
            "CASSANDRA_KEYSPACE": keyspace,
            # Its own role, as devstack runs the catalog (made below).
            "CASSANDRA_USERNAME": keyspace,
            "CASSANDRA_PASSWORD_FILE": str(cassandra_auth.role_password_file(paths, keyspace)),
            "CASSANDRA_CONSISTENCY": "ONE",
            "JWT_JWKS_URL": JWKS_URL,
            "EVENTS_TOPIC": topic,
            "REDIS_KEY_PREFIX": prefix,
            "SEARCH_CONSUMER_GROUP_PREFIX": prefix,
            "TRACE_SAMPLE_RATIO": args.trace_ratio,
            "OTLP_ENDPOINT": "http://127.0.0.1:4318",
            "LOG_LEVEL": "WARNING",
        }.items()
    }
    extra = args.uvicorn_args.split()
    catalog_argv = [*uvicorn_argv("productstore_catalog.app.main:create_app", catalog_port), *extra]
    ceiling_argv = [*uvicorn_argv("ceiling_app:create_app", ceiling_port), *extra]
    if args.pythonpath:
        env["PYTHONPATH"] = args.pythonpath
    catalog_url = f"http://127.0.0.1:{catalog_port}"
    report: dict[str, Any] = {
        "products": args.products,
        "pythonpath": args.pythonpath,
        "uvicorn_args": extra,
        "load_before": os.getloadavg(),
    }
    with TemporaryDirectory(prefix="bench-profile-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        log = folder / "serve.log"
        stack.callback(drop_bench_data, keyspace, topic, prefix)
        cassandra_auth.ensure_keyspace_role(paths, "127.0.0.1", 9042, keyspace)
        with _serving(catalog_argv, env, f"{catalog_url}/readyz", log):
            pass  # creates the keyspace and tables
        ids, _ = bulk_load(keyspace, args.products)
        profile_file = args.out.with_suffix(".prof").absolute()
        profile_file.parent.mkdir(parents=True, exist_ok=True)
        argv = catalog_argv
        if args.profile:
            argv = [argv[0], "-m", "cProfile", "-o", str(profile_file), *argv[1:]]
        try:
            ceiling_url = f"http://127.0.0.1:{ceiling_port}"
            ceiling_env = {
                "PYTHONPATH": os.pathsep.join(filter(None, (args.pythonpath, str(BENCH_DIR))))
            }
            with (
                _serving(argv, env, f"{catalog_url}/readyz", log) as catalog,
                _serving(ceiling_argv, ceiling_env, f"{ceiling_url}/item", log) as ceiling,
            ):
                sample = random.Random(3).sample(ids, min(args.read_ids, len(ids)))
                reads = [f"/api/products/{i}" for i in sample]
                searches = [f"/api/products/search?{urlencode(s)}" for s in SEARCHES]
                runs: dict[str, Any] = {
                    "ceiling": _measured(ceiling, ceiling_url, ["/item"], folder, args)
                }
                outcomes_before = counter_by_label(
                    catalog_url, "catalog_product_cache_reads_total", "outcome"
                )
                runs["product_read"] = _measured(catalog, catalog_url, reads, folder, args)
                outcomes = counter_by_label(
                    catalog_url, "catalog_product_cache_reads_total", "outcome"
                )
                runs["product_read"]["cache_outcomes"] = {
                    k: v - outcomes_before.get(k, 0.0) for k, v in outcomes.items()
                }
                runs["search"] = _measured(catalog, catalog_url, searches, folder, args)
        except BaseException:
            sys.stderr.write(log.read_text(errors="replace")[-5000:])
            raise
        report["runs"] = runs
        report["ratios_to_ceiling"] = {
            name: round(run["requests_per_second"] / runs["ceiling"]["requests_per_second"], 3)
            for name, run in runs.items()
        }
        report["load_after"] = os.getloadavg()
        if args.profile:
            summary = _profile_summary(profile_file)
            args.out.with_suffix(".prof.txt").write_text(summary)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
