"""Checkout capacity: orders arriving at set rates, POST latency and POST-to-paid apart.

    .venv/bin/python bench/checkout.py                      # about 3 minutes a variant
    BENCH_RATES=20,40 BENCH_SECONDS=15 .venv/bin/python bench/checkout.py
    BENCH_VARIANTS="before=../main/.venv/bin/python,after=.venv/bin/python" \\
        .venv/bin/python bench/checkout.py                  # two versions, one run
    BENCH_VARIANTS="dedupe=.venv/bin/python CONSUMER_DEDUPE=true,this=.venv/bin/python" ...

Needs `make up` (auth, catalog, the payment sandbox, Cassandra, Kafka) and the
seeded demo catalog. For each variant (a name, the interpreter whose code runs,
default this checkout's, and settings of both services, `NAME=value` without the
prefix, after spaces) the benchmark starts its own orders and
inventory (bench/checkout_stack.py: own keyspaces, topics, consumer groups,
tracing sampled as deployed) and then:

- ceiling: BENCH_BUYERS clients GET a bare FastAPI endpoint (bench/ceiling_app.py,
  served by uvicorn as devstack serves the services) for BENCH_CEILING_SECONDS:
  what this client and one uvicorn process reach on this machine now;
- checkout steps, open loop: for each rate of BENCH_RATES, orders arrive at that
  rate for BENCH_SECONDS whatever the answers (one unit of a random product of
  BENCH_PRODUCTS well-stocked ones, a fresh Idempotency-Key, `tok_approve`, from
  BENCH_BUYERS accounts in turn), sent straight to the instance's orders (the
  gateway's own cost is gateway_wrk.py's). An order's POST latency is its
  request's; it counts as paid when its OrderPaid event is on Kafka (read by the
  benchmark from the instance's topic: the moment the rest of the system can
  know, and no polling load on orders). Orders not paid BENCH_DRAIN_SECONDS
  after the step's last arrival are read back once for their status. Reported
  per step: offered and achieved rates, POST p50/p99, POST-to-paid p50/p99,
  paid per second (paid orders from the first arrival to the last payment), outcomes, the
  CPU seconds per order of orders, inventory, Cassandra, Kafka and this client,
  and the load average;
- hot product (the last variant): BENCH_HOT_BUYERS buyers order one unit of a
  product with BENCH_HOT_UNITS units at a time until it is sold out: paid orders
  beyond the units (oversell, must be 0).

Accounts are disabled and the instances stopped and dropped at the end.
Output: JSON on stdout and in bench/results/checkout.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from aiokafka.structs import TopicPartition  # type: ignore[import-untyped]
from catalog_data import free_port
from checkout_stack import Pair, cpu_seconds, devstack_pids, new_tag, own_pair

from devstack import process
from devstack.component import Context
from devstack.components.services import uvicorn_argv
from devstack.paths import Paths
from devstack.stack import Stack

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "checkout.json"
GATEWAY = os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080")
KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
BUYERS = int(os.environ.get("BENCH_BUYERS", "32"))
RATES = [float(r) for r in os.environ.get("BENCH_RATES", "8,16,32").split(",")]
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
CEILING_SECONDS = float(os.environ.get("BENCH_CEILING_SECONDS", "10"))
DRAIN_SECONDS = float(os.environ.get("BENCH_DRAIN_SECONDS", "30"))
PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "20"))
HOT_UNITS = int(os.environ.get("BENCH_HOT_UNITS", "50"))
HOT_BUYERS = int(os.environ.get("BENCH_HOT_BUYERS", "32"))
PAID = "productstore.orders.OrderPaid.v1"
FINAL = {"paid", "fulfilled", "delivered", "cancelled", "expired", "rejected", "payment_failed"}
ADDRESS = {
    "name": "Bench Buyer",
    "line1": "1 Test Street",
    "city": "Testville",
    "postal_code": "00000",
    "country": "DE",
}


def _ms(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def _sign_up(http: httpx.AsyncClient, run: str, n: int) -> tuple[str, str]:
    """A new account's id and bearer token (from its own loopback address, so auth's
    per-address limits apply per buyer)."""
    email, password = f"buyer-{run}-{n}@bench.example.com", secrets.token_urlsafe(18)
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.2.{n % 250 + 1}")
    async with httpx.AsyncClient(base_url=GATEWAY, transport=transport, timeout=30) as own:
        made = await own.post(
            "/api/auth/register", json={"email": email, "password": password, "name": "Buyer"}
        )
        made.raise_for_status()
        login = await own.post("/api/auth/login", json={"email": email, "password": password})
        login.raise_for_status()
    return made.json()["id"], f"Bearer {login.json()['access_token']}"


class PaidWatch:
    """When each order's OrderPaid reached the instance's topic (perf_counter time)."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.paid: dict[str, float] = {}
        self._consumer: Any = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PaidWatch:
        admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([self.topic])
        finally:
            await admin.close()
        self._consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False)
        await self._consumer.start()
        self._consumer.assign(
            [TopicPartition(self.topic, p["partition"]) for p in described["partitions"]]
        )
        await self._consumer.seek_to_end()
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for record in self._consumer:
            if b"OrderPaid" in (record.value or b""):  # decode only the candidates
                envelope = json.loads(record.value)
                if envelope.get("type") == PAID:
                    self.paid.setdefault(envelope["data"]["order_id"], time.perf_counter())

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
        await self._consumer.stop()


async def _ceiling(url: str) -> dict[str, Any]:
    latencies: list[float] = []
    stop = time.perf_counter() + CEILING_SECONDS
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=BUYERS)) as http:

        async def loop() -> None:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                (await http.get(url)).raise_for_status()
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(loop() for _ in range(BUYERS)))
    return {
        "requests_per_second": round(len(latencies) / CEILING_SECONDS, 1),
        "p50_ms": _ms(latencies, 0.5),
        "p99_ms": _ms(latencies, 0.99),
    }


def _body(product: str) -> dict[str, Any]:
    return {
        "lines": [{"product_id": product, "quantity": 1}],
        "shipping_address": ADDRESS,
        "payment_token": "tok_approve",
    }


async def _step(
    pair: Pair, http: httpx.AsyncClient, tokens: list[str], products: list[str], rate: float
) -> dict[str, Any]:
    """Orders arriving at `rate` per second for SECONDS (open loop), then drained."""
    rng = random.Random(int(rate))
    posts: list[float] = []
    placed: dict[str, tuple[float, str]] = {}  # order id -> (POST start, token)
    refused: dict[str, int] = {}
    pids = {**pair.pids(), **devstack_pids(Paths.from_env(), ("cassandra", "kafka"))}
    pids["bench client"] = os.getpid()

    async def one(n: int) -> None:
        token = tokens[n % len(tokens)]
        started = time.perf_counter()
        try:
            answer = await http.post(
                "/api/orders",
                json=_body(rng.choice(products)),
                headers={"Authorization": token, "Idempotency-Key": uuid.uuid4().hex},
            )
        except httpx.HTTPError as exc:
            refused[type(exc).__name__] = refused.get(type(exc).__name__, 0) + 1
            return
        posts.append(time.perf_counter() - started)
        if answer.status_code == 202:
            placed[answer.json()["id"]] = (started, token)
        else:
            refused[str(answer.status_code)] = refused.get(str(answer.status_code), 0) + 1

    async with PaidWatch(pair.orders_topic) as watch:
        cpu_before, load_before = cpu_seconds(pids), _load()
        began = time.perf_counter()
        tasks = []
        total = int(rate * SECONDS)
        for n in range(total):
            await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
        arrivals_end = time.perf_counter()
        deadline = arrivals_end + DRAIN_SECONDS
        while time.perf_counter() < deadline and not set(placed) <= set(watch.paid):
            await asyncio.sleep(0.2)
        cpu_after, load_after = cpu_seconds(pids), _load()
        paid = {o: watch.paid[o] - placed[o][0] for o in placed if o in watch.paid}
        paid_at = [watch.paid[o] for o in paid]
    outcomes: dict[str, int] = {"paid": len(paid)}
    for order_id, (_, token) in placed.items():
        if order_id not in paid:
            read = await http.get(f"/api/orders/{order_id}", headers={"Authorization": token})
            status = read.json()["status"] if read.status_code == 200 else str(read.status_code)
            key = status if status in FINAL else f"{status} (not final)"
            outcomes[key] = outcomes.get(key, 0) + 1
    window = arrivals_end - began
    return {
        "offered_per_second": rate,
        "arrivals": total,
        "posts_per_second": round(len(posts) / window, 1),
        "post_p50_ms": _ms(posts, 0.5),
        "post_p99_ms": _ms(posts, 0.99),
        # From the first arrival to the last payment seen: what the pipeline delivered.
        "paid_per_second": round(len(paid) / (max(paid_at, default=began) - began or 1), 1),
        "post_to_paid_p50_ms": _ms(list(paid.values()), 0.5),
        "post_to_paid_p99_ms": _ms(list(paid.values()), 0.99),
        "outcomes": outcomes,
        "refused": refused,
        "cpu_ms_per_order": {
            name: round((cpu_after[name] - cpu_before[name]) * 1000 / max(1, len(placed)), 1)
            for name in cpu_before
        },
        "cpu_share_of_2_cores": round(
            sum(cpu_after[n] - cpu_before[n] for n in cpu_before)
            / ((time.perf_counter() - began) * (os.cpu_count() or 1)),
            2,
        ),
        "load_average_before": load_before,
        "load_average_after": load_after,
    }


async def _hot(pair: Pair, tokens: list[str], product: str) -> dict[str, Any]:
    paid, outcomes = 0, dict[str, int]()
    sold_out = asyncio.Event()
    deadline = time.perf_counter() + 180
    async with httpx.AsyncClient(base_url=pair.orders_url, timeout=30) as http:

        async def buyer(token: str) -> None:
            nonlocal paid
            while not sold_out.is_set() and time.perf_counter() < deadline:
                answer = await http.post(
                    "/api/orders",
                    json=_body(product),
                    headers={"Authorization": token, "Idempotency-Key": uuid.uuid4().hex},
                )
                if answer.status_code != 202:
                    await asyncio.sleep(0.2)
                    continue
                url, status = f"/api/orders/{answer.json()['id']}", "pending"
                while status not in FINAL and time.perf_counter() < deadline:
                    await asyncio.sleep(0.1)
                    status = (await http.get(url, headers={"Authorization": token})).json()[
                        "status"
                    ]
                outcomes[status] = outcomes.get(status, 0) + 1
                paid += status == "paid"
                if status == "rejected":
                    sold_out.set()

        started = time.perf_counter()
        await asyncio.gather(*(buyer(tokens[n % len(tokens)]) for n in range(HOT_BUYERS)))
    return {
        "units": HOT_UNITS,
        "buyers": HOT_BUYERS,
        "paid": paid,
        "oversell": max(0, paid - HOT_UNITS),
        "outcomes": outcomes,
        "seconds_to_sold_out": round(time.perf_counter() - started, 1),
    }


def _stock(pair: Pair, admin: dict[str, str], products: list[str], hot: str) -> None:
    for product in [*products, hot]:
        httpx.put(
            f"{pair.inventory_url}/api/inventory/{product}",
            json={"on_hand": HOT_UNITS if product == hot else 1_000_000, "low_stock_threshold": 0},
            headers=admin,
            timeout=30,
        ).raise_for_status()


def _revision(python: str) -> str:
    # <checkout>/.venv/bin/python (not resolved: the venv's python is a symlink)
    where = Path(python).absolute()
    root = where.parents[2] if where.parent.parent.name == ".venv" else HERE.parent
    found = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return f"{root.name} @ {found.stdout.strip() or '?'}"  # the checkout by name, not path


async def _variant(
    pair: Pair, tokens: list[str], products: list[str], hot: str, *, ceiling_url: str, last: bool
) -> dict[str, Any]:
    steps = []
    async with httpx.AsyncClient(
        base_url=pair.orders_url, timeout=30, limits=httpx.Limits(max_connections=256)
    ) as http:
        for rate in RATES:
            steps.append(await _step(pair, http, tokens, products, rate))
    best = max(steps, key=lambda s: s["paid_per_second"])
    return {
        "code": _revision(pair.python),
        "ceiling_direct": await _ceiling(ceiling_url),
        "steps": steps,
        "best_paid_per_second": best["paid_per_second"],
        "hot_product": await _hot(pair, tokens, hot) if last else None,
    }


def main() -> int:
    paths = Paths.from_env()
    stack = Stack(Context(paths=paths, tie_to_parent=True))
    variants = [_variant_of(item) for item in os.environ.get("BENCH_VARIANTS", "").split(",")]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    run = new_tag()
    with httpx.Client(base_url=GATEWAY, timeout=30) as http, ExitStack() as cleanup:
        password = (paths.state / "auth" / "admin-password").read_text().strip()
        login = http.post(
            "/api/auth/login", json={"email": "admin@productstore.local", "password": password}
        )
        login.raise_for_status()
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        ids = [i["id"] for i in http.get(f"/api/products?limit={PRODUCTS + 1}").json()["items"]]
        products, hot = ids[:PRODUCTS], ids[PRODUCTS]

        async def accounts() -> list[tuple[str, str]]:
            async with httpx.AsyncClient(timeout=30) as client:
                # One at a time: auth's Argon2 is the slow part.
                return [await _sign_up(client, run, n) for n in range(BUYERS)]

        buyers = asyncio.run(accounts())
        for user_id, _ in buyers:
            cleanup.callback(http.post, f"/api/auth/users/{user_id}/disable", headers=admin)
        tokens = [token for _, token in buyers]
        port = free_port()
        spec = process.ProcessSpec(
            name=f"bench-ceiling-{run}",
            argv=uvicorn_argv("ceiling_app:create_app", port),
            env={"PYTHONPATH": str(HERE)},
            cwd=HERE,
        )
        pid_file, log_file = paths.pid_file(spec.name), paths.log_file(spec.name)
        process.start(spec, log_file=log_file, pid_file=pid_file, tie_to_parent=True)
        cleanup.callback(log_file.unlink, missing_ok=True)
        cleanup.callback(process.stop, pid_file)
        ceiling_url = f"http://127.0.0.1:{port}/item"
        process.wait_until_ready(
            spec.name,
            lambda: httpx.get(ceiling_url, timeout=5).status_code == 200,
            timeout=60,
            pid_files=[pid_file],
            log_file=log_file,
            hint="see the log",
        )
        results = {}
        for index, (name, python, settings) in enumerate(variants):
            with own_pair(stack, paths, python, f"{run}{index}", settings) as pair:
                _stock(pair, admin, products, hot)
                last = index == len(variants) - 1
                results[name] = {"settings": settings}
                results[name] |= asyncio.run(
                    _variant(pair, tokens, products, hot, ceiling_url=ceiling_url, last=last)
                )
    result = _summary(results)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


def _variant_of(text: str) -> tuple[str, str, dict[str, str]]:
    """`name=python NAME=value ...` (empty: this checkout's code as it is)."""
    name, _, spec = (text or f"this={sys.executable}").partition("=")
    python, *assignments = spec.split()
    return name, python, dict(a.split("=", 1) for a in assignments)


def _summary(results: dict[str, Any]) -> dict[str, Any]:
    names = list(results)
    last = results[names[-1]]
    best = max(last["steps"], key=lambda s: s["paid_per_second"])
    summary: dict[str, Any] = {
        "benchmark": "checkout",
        "buyers": BUYERS,
        "rates": RATES,
        "seconds_per_step": SECONDS,
        "variants": results,
        "targets": {
            "post_p99_under_100_ms_at_best_step": (best["post_p99_ms"] or 1e9) < 100,
            "at_least_300_checkouts_per_second": best["paid_per_second"] >= 300,
            "no_oversell": last["hot_product"]["oversell"] == 0,
        },
        "note": (
            "one replica per service, the whole stack and other engineers' tests on these "
            "2 cores: compare variants of one run, and read the load averages"
        ),
    }
    if len(names) == 2:  # before and after
        before, after = (results[n] for n in names)
        summary["after_over_before"] = {
            "best_paid_per_second": round(
                after["best_paid_per_second"] / max(0.1, before["best_paid_per_second"]), 2
            ),
            "ceiling": round(
                after["ceiling_direct"]["requests_per_second"]
                / max(0.1, before["ceiling_direct"]["requests_per_second"]),
                2,
            ),
        }
    return summary


if __name__ == "__main__":
    sys.exit(main())
