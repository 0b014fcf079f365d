"""The seed's Locust user journey against the running stack, through the gateway.

    .venv/bin/python bench/locust_journey.py                     # about 2 minutes
    BENCH_USERS=20 BENCH_SECONDS=60 .venv/bin/python bench/locust_journey.py

Needs `make up` (auth, catalog, inventory, orders, payments, wishlist and the
gateway) and the seeded demo catalog. Prepares, then runs bench/locustfile_journey.py headless:

- BENCH_USERS shopper accounts, registered through the gateway from distinct
  loopback addresses (127.0.1.x: auth allows 10 registrations per address and
  hour) and disabled again at the end by the administrator;
- stock (admin `PUT /api/inventory/{id}`, 1,000,000 units) for BENCH_PRODUCTS demo
  products of one currency (the first listed product's), put back as it was at
  the end.

Reports per request name: count, failures, p50/p95/p99 and requests/s, the
"order paid" flow (from `POST /api/orders` to the order read as paid), the load
average. The gateway's per-address rate limit stays as `make up` set it; a 429
counts as a failure and is reported by name.
Output: JSON on stdout and in bench/results/locust-journey.json; Locust's HTML
report (response times and users over time, failures by message) in
bench/results/locust-journey.html and its CSV tables as locust-journey_*.csv.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from devstack.paths import Paths

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "locust-journey.json"
# Locust's own report (charts over time, failures by message) and its CSV tables.
HTML = HERE / "results" / "locust-journey.html"
CSV_PREFIX = HERE / "results" / "locust-journey"
GATEWAY = os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080")
USERS = int(os.environ.get("BENCH_USERS", "20"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))
PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "20"))
ADMIN_EMAIL = "admin@productstore.local"


def _admin(http: httpx.Client) -> dict[str, str]:
    password = (Paths.from_env().state / "auth" / "admin-password").read_text().strip()
    answer = http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": password})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _register(count: int) -> list[dict[str, str]]:
    run = uuid.uuid4().hex[:8]
    accounts = []
    for n in range(count):
        # One loopback source address per account: auth limits registrations per address.
        source = f"127.0.1.{n % 250 + 1}"
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(base_url=GATEWAY, transport=transport, timeout=30) as http:
            account = {
                "email": f"shopper-{run}-{n}@bench.example.com",
                "password": secrets.token_urlsafe(18),
            }
            answer = http.post("/api/auth/register", json={**account, "name": f"Shopper {n}"})
            answer.raise_for_status()
            account["id"] = answer.json()["id"]
            accounts.append(account)
    return accounts


def _percentile(histogram: dict[str, int], share: float) -> float | None:
    """The response time (ms) below which `share` of the requests finished."""
    total = sum(histogram.values())
    if not total:
        return None
    seen = 0
    for bucket, count in sorted((float(k), v) for k, v in histogram.items()):
        seen += count
        if seen >= share * total:
            return bucket
    return None


def _summary(stats: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in stats:
        times = entry.get("response_times") or {}
        requests = entry["num_requests"]
        out[entry["name"]] = {
            "requests": requests,
            "failures": entry["num_failures"],
            "per_second": round(requests / seconds, 2),
            "p50_ms": _percentile(times, 0.50),
            "p95_ms": _percentile(times, 0.95),
            "p99_ms": _percentile(times, 0.99),
            "max_ms": round(entry.get("max_response_time") or 0, 1),
        }
    return out


def _failures(path: Path) -> list[dict[str, Any]]:
    """Locust's failures table: which request failed how, how often."""
    if not path.exists():
        return []
    with path.open(newline="") as table:
        return [
            {"name": row["Name"], "error": row["Error"][:300], "count": int(row["Occurrences"])}
            for row in csv.DictReader(table)
        ]


def main() -> int:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with httpx.Client(base_url=GATEWAY, timeout=30) as http:
        admin = _admin(http)
        # One currency: a cart of two (a wishlist item moved there, then a checkout
        # from the cart) is refused with 422 mixed_currencies, a store rule, not load.
        page = http.get("/api/products?limit=100").json()
        currency = page["items"][0]["currency"]
        products = [item["id"] for item in page["items"] if item["currency"] == currency]
        products = products[:PRODUCTS]
        before = {}
        for product in products:
            found = http.get(f"/api/inventory/{product}")
            before[product] = found.json() if found.status_code == 200 else None
            http.put(
                f"/api/inventory/{product}", json={"on_hand": 1_000_000}, headers=admin
            ).raise_for_status()
        accounts = _register(USERS)
        try:
            with tempfile.TemporaryDirectory(prefix="locust-") as scratch:
                accounts_file = Path(scratch) / "accounts.json"
                products_file = Path(scratch) / "products.json"
                accounts_file.write_text(
                    json.dumps([{"email": a["email"], "password": a["password"]} for a in accounts])
                )
                products_file.write_text(json.dumps(products))
                env = {
                    **os.environ,
                    "LOCUST_ACCOUNTS": str(accounts_file),
                    "LOCUST_PRODUCTS": str(products_file),
                }
                started = time.monotonic()
                ran = subprocess.run(
                    [
                        sys.executable, "-m", "locust",
                        "-f", str(HERE / "locustfile_journey.py"),
                        "--host", GATEWAY, "--headless", "--only-summary", "--json",
                        "-u", str(USERS), "-r", str(max(1, USERS // 5)),
                        "-t", f"{SECONDS}s", "--stop-timeout", "35",
                        "--exit-code-on-error", "0",
                        "--html", str(HTML), "--csv", str(CSV_PREFIX),
                    ],
                    env=env, capture_output=True, text=True, timeout=SECONDS + 180, check=False,
                )  # fmt: skip
                elapsed = time.monotonic() - started
        finally:
            for account in accounts:
                http.post(f"/api/auth/users/{account['id']}/disable", headers=admin)
            for product, stock in before.items():
                on_hand = 0 if stock is None else stock["on_hand"]
                # Orders placed during the run hold or sold units; put back what was there.
                http.put(f"/api/inventory/{product}", json={"on_hand": on_hand}, headers=admin)
    if ran.returncode != 0 or not ran.stdout.strip():
        sys.stderr.write(ran.stderr[-4000:])
        return 1
    stats = json.loads(ran.stdout)
    result = {
        "benchmark": "locust-journey",
        "users": USERS,
        "seconds": SECONDS,
        "products": len(products),
        "requests": _summary(stats, SECONDS),
        "failures": _failures(Path(f"{CSV_PREFIX}_failures.csv")),
        "wall_seconds": round(elapsed, 1),
        "load_average": os.getloadavg(),
        "gateway_rate_limit": "as make up sets it (per address; every shopper is 127.0.0.1)",
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
