"""Checkout through the gateway: throughput, latency to paid, and a hot product's race.

    .venv/bin/python bench/checkout.py                 # about 3 minutes
    BENCH_BUYERS=64 BENCH_SECONDS=30 BENCH_HOT_UNITS=50 .venv/bin/python bench/checkout.py

Needs `make up` (auth, catalog, inventory, orders, payments, the gateway) and the
seeded demo catalog. BENCH_BUYERS buyers, each an account of its own registered
and logged in from its own loopback address (127.0.2.x, so the gateway's and
auth's per-address limits apply per buyer, as for real customers), run three
phases with one asyncio client each:

- ceiling: GET of a bare FastAPI endpoint (bench/ceiling_app.py, served by
  uvicorn with devstack's arguments) by the same buyers for BENCH_SECONDS:
  what this client and one uvicorn process reach on this machine now;
- checkout: each buyer places an order of one unit of a random product of
  BENCH_PRODUCTS well-stocked ones (`POST /api/orders`, own Idempotency-Key,
  `tok_approve`), then reads it every 50 ms until it is final; for
  BENCH_SECONDS. Reports POST p50/p99, POST-to-paid p50/p99, completed (paid)
  checkouts per second, and what did not end paid;
- hot product: one product with BENCH_HOT_UNITS units; every buyer orders one
  unit at a time until the product is sold out (rejected). Reports the oversell
  (paid orders beyond the units: must be 0), the units left held or unsold,
  and inventory's compare-and-set conflicts per reservation.

At the end the accounts are disabled and the stock put back as it was.
Output: JSON on stdout and in bench/results/checkout.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from scrape import counter_by_label

from devstack import process
from devstack.components.services import uvicorn_argv
from devstack.paths import Paths

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "checkout.json"
GATEWAY = os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080")
INVENTORY = os.environ.get("INVENTORY_URL", "http://127.0.0.1:8104")
BUYERS = int(os.environ.get("BENCH_BUYERS", "64"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "20"))
HOT_UNITS = int(os.environ.get("BENCH_HOT_UNITS", "50"))
FINAL = {"paid", "fulfilled", "delivered", "cancelled", "expired", "rejected", "payment_failed"}
POLL_SECONDS = 0.05
PAID_TIMEOUT = 60.0
ADDRESS = {
    "name": "Bench Buyer",
    "line1": "1 Test Street",
    "city": "Testville",
    "postal_code": "00000",
    "country": "DE",
}


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1)


def _source(n: int) -> str:
    return f"127.0.2.{n % 250 + 1}"


class Buyer:
    """One customer: an account, a token, and a client bound to its own address."""

    def __init__(self, n: int, run: str) -> None:
        self.n = n
        self.email = f"buyer-{run}-{n}@bench.example.com"
        self.password = secrets.token_urlsafe(18)
        self.id = ""
        self.client = httpx.AsyncClient(
            base_url=GATEWAY,
            transport=httpx.AsyncHTTPTransport(local_address=_source(n)),
            timeout=30,
        )

    async def sign_up(self) -> None:
        body = {"email": self.email, "password": self.password, "name": f"Buyer {self.n}"}
        answer = await self.client.post("/api/auth/register", json=body)
        answer.raise_for_status()
        self.id = answer.json()["id"]
        login = await self.client.post(
            "/api/auth/login", json={"email": self.email, "password": self.password}
        )
        login.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    async def order(self, product: str) -> tuple[dict[str, Any] | None, float, int]:
        """The order placed (or None), the POST's seconds and its status code."""
        started = time.perf_counter()
        answer = await self.client.post(
            "/api/orders",
            json={
                "lines": [{"product_id": product, "quantity": 1}],
                "shipping_address": ADDRESS,
                "payment_token": "tok_approve",
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        took = time.perf_counter() - started
        return (answer.json() if answer.status_code == 202 else None), took, answer.status_code

    async def final(self, order: dict[str, Any]) -> str:
        status: str = order["status"]
        deadline = time.perf_counter() + PAID_TIMEOUT
        while status not in FINAL and time.perf_counter() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            read = await self.client.get(f"/api/orders/{order['id']}")
            if read.status_code == 200:
                status = read.json()["status"]
        return status


async def _for_each(buyers: list[Buyer], work: Callable[[Buyer], Awaitable[None]]) -> None:
    await asyncio.gather(*(work(b) for b in buyers))


async def _ceiling(buyers: list[Buyer], url: str) -> dict[str, Any]:
    latencies: list[float] = []
    stop = time.perf_counter() + SECONDS

    async def loop(buyer: Buyer) -> None:
        async with httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(local_address=_source(buyer.n)), timeout=30
        ) as http:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                (await http.get(url)).raise_for_status()
                latencies.append(time.perf_counter() - started)

    await _for_each(buyers, loop)
    return {
        "requests_per_second": round(len(latencies) / SECONDS, 1),
        "p50_ms": _percentile(latencies, 0.5),
        "p99_ms": _percentile(latencies, 0.99),
    }


async def _checkout(buyers: list[Buyer], products: list[str]) -> dict[str, Any]:
    posts: list[float] = []
    to_paid: list[float] = []
    outcomes: dict[str, int] = {}
    refused: dict[int, int] = {}
    stop = time.perf_counter() + SECONDS
    rng = random.Random(5)

    async def loop(buyer: Buyer) -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            order, took, code = await buyer.order(rng.choice(products))
            posts.append(took)
            if order is None:
                refused[code] = refused.get(code, 0) + 1
                await asyncio.sleep(0.2)
                continue
            status = await buyer.final(order)
            outcomes[status] = outcomes.get(status, 0) + 1
            if status == "paid":
                to_paid.append(time.perf_counter() - started)

    started = time.perf_counter()
    await _for_each(buyers, loop)
    elapsed = time.perf_counter() - started
    return {
        "orders_placed": len(posts) - sum(refused.values()),
        "paid_per_second": round(len(to_paid) / elapsed, 2),
        "post_p50_ms": _percentile(posts, 0.5),
        "post_p99_ms": _percentile(posts, 0.99),
        "post_to_paid_p50_ms": _percentile(to_paid, 0.5),
        "post_to_paid_p99_ms": _percentile(to_paid, 0.99),
        "outcomes": outcomes,
        "refused_by_status": {str(k): v for k, v in refused.items()},
        "seconds": round(elapsed, 1),
    }


async def _hot(buyers: list[Buyer], product: str) -> dict[str, Any]:
    paid = 0
    outcomes: dict[str, int] = {}
    sold_out = asyncio.Event()
    deadline = time.perf_counter() + 180

    async def loop(buyer: Buyer) -> None:
        nonlocal paid
        while not sold_out.is_set() and time.perf_counter() < deadline:
            order, _, code = await buyer.order(product)
            if order is None:
                await asyncio.sleep(0.2 if code != 409 else 0)
                continue
            status = await buyer.final(order)
            outcomes[status] = outcomes.get(status, 0) + 1
            if status == "paid":
                paid += 1
            elif status == "rejected":
                sold_out.set()

    before = counter_by_label(INVENTORY, "inventory_reservations_total", "outcome")
    conflicts_before = _conflicts()
    started = time.perf_counter()
    await _for_each(buyers, loop)
    elapsed = time.perf_counter() - started
    after = counter_by_label(INVENTORY, "inventory_reservations_total", "outcome")
    reservations = sum(after.values()) - sum(before.values())
    return {
        "units": HOT_UNITS,
        "paid": paid,
        "oversell": max(0, paid - HOT_UNITS),
        "outcomes": outcomes,
        "reservations": reservations,
        "conflicts_per_reservation": round((_conflicts() - conflicts_before) / reservations, 3)
        if reservations
        else None,
        "seconds_to_sold_out": round(elapsed, 1),
    }


def _conflicts() -> float:
    for line in httpx.get(f"{INVENTORY}/metrics", timeout=10).text.splitlines():
        if line.startswith("inventory_reservation_conflicts_total "):
            return float(line.split()[-1])
    return 0.0


async def _run(admin: dict[str, str], products: list[str], hot: str, ceiling_url: str) -> Any:
    run = uuid.uuid4().hex[:8]
    buyers = [Buyer(n, run) for n in range(BUYERS)]
    try:
        for buyer in buyers:  # one at a time: auth's Argon2 is the slow part
            await buyer.sign_up()
        ceiling = await _ceiling(buyers, ceiling_url)
        checkout = await _checkout(buyers, products)
        hot_race = await _hot(buyers, hot)
        return ceiling, checkout, hot_race
    finally:
        async with httpx.AsyncClient(base_url=GATEWAY, timeout=30) as http:
            for buyer in buyers:
                if buyer.id:
                    await http.post(f"/api/auth/users/{buyer.id}/disable", headers=admin)
                await buyer.client.aclose()


def main() -> int:
    paths = Paths.from_env()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with httpx.Client(base_url=GATEWAY, timeout=30) as http, ExitStack() as cleanup:
        password = (paths.state / "auth" / "admin-password").read_text().strip()
        login = http.post(
            "/api/auth/login", json={"email": "admin@productstore.local", "password": password}
        )
        login.raise_for_status()
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        listing = http.get(f"/api/products?limit={PRODUCTS + 1}").json()["items"]
        ids = [item["id"] for item in listing]
        products, hot = ids[:PRODUCTS], ids[PRODUCTS]
        for product in ids:
            found = http.get(f"/api/inventory/{product}")
            on_hand = found.json()["on_hand"] if found.status_code == 200 else 0

            def put_back(product: str = product, on_hand: int = on_hand) -> None:
                http.put(f"/api/inventory/{product}", json={"on_hand": on_hand}, headers=admin)

            cleanup.callback(put_back)
            units = HOT_UNITS if product == hot else 1_000_000
            http.put(
                f"/api/inventory/{product}",
                json={"on_hand": units, "low_stock_threshold": 0},
                headers=admin,
            ).raise_for_status()
        port = _free_port()
        spec = process.ProcessSpec(
            name=f"bench-ceiling-{uuid.uuid4().hex[:8]}",
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
        ceiling, checkout, hot_race = asyncio.run(_run(admin, products, hot, ceiling_url))
    result = {
        "benchmark": "checkout",
        "buyers": BUYERS,
        "seconds": SECONDS,
        "ceiling_direct": ceiling,
        "checkout": checkout,
        "paid_per_second_vs_ceiling_rps": round(
            checkout["paid_per_second"] / ceiling["requests_per_second"], 4
        )
        if ceiling["requests_per_second"]
        else None,
        "hot_product": hot_race,
        "targets": {
            "post_p99_under_100_ms": (checkout["post_p99_ms"] or 1e9) < 100,
            "at_least_300_checkouts_per_second": checkout["paid_per_second"] >= 300,
            "no_oversell": hot_race["oversell"] == 0,
        },
        "load_average": os.getloadavg(),
        "note": "one replica per service, every service and the stack on these 2 cores",
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


if __name__ == "__main__":
    sys.exit(main())
