"""The seed's user journey for Locust: browse, search, read and write reviews, keep a
wishlist (save, drop, move to the cart), add to cart, check out, pay.

Run by bench/locust_journey.py (which makes the accounts and the stock and reads
the results); by hand:

    locust -f bench/locustfile_journey.py --host "$GATEWAY_URL" --headless -u 10 -r 2 -t 60s

Each simulated shopper logs in with one account of ``LOCUST_ACCOUNTS`` (a JSON
list of {"email", "password"}) and shops among ``LOCUST_PRODUCTS`` (a JSON list of
product ids with stock). "order paid" is a request of its own in the statistics:
its response time is from ``POST /api/orders`` to the order read back as
``paid`` (bounded by ``LOCUST_PAID_TIMEOUT`` seconds, a failure after that).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task

ACCOUNTS: list[dict[str, str]] = json.loads(
    Path(os.environ.get("LOCUST_ACCOUNTS", "/dev/null")).read_text() or "[]"
)
PRODUCTS: list[str] = json.loads(
    Path(os.environ.get("LOCUST_PRODUCTS", "/dev/null")).read_text() or "[]"
)
PAID_TIMEOUT = float(os.environ.get("LOCUST_PAID_TIMEOUT", "30"))
WORDS = ("chair", "lamp", "phone", "coffee", "book", "shoe", "garden", "кресло", "лампа")
# What shoppers write: both languages, every rating (moderation and sentiment run on it).
REVIEWS = (
    (5, "Works exactly as described and arrived quickly, very happy with it."),
    (4, "Good value for the price, although the colour is a little darker."),
    (2, "Stopped working after a week, the support never answered my emails."),
    (5, "Отличная вещь, пользуюсь каждый день и всем советую."),
    (3, "Нормально, но за эти деньги ожидал качество получше."),
)
# A shopper's list stays about this long: beyond it, a visit drops an item.
WISHLIST_ITEMS = 10
FINAL = {"paid", "fulfilled", "delivered", "cancelled", "expired", "rejected", "payment_failed"}

_next_account = itertools.count()
_lock = threading.Lock()


class Shopper(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        with _lock:
            account = ACCOUNTS[next(_next_account) % len(ACCOUNTS)]
        answer = self.client.post("/api/auth/login", json=account, name="login")
        answer.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        self.wishlist_id: str | None = None

    # Weights: of 24 actions, 10 browse, 6 search, 3 read reviews, 2 keep the wishlist,
    # 2 check out, 1 writes a review (a shopper's one review per product; a second is
    # refused with 409).
    @task(10)
    def browse(self) -> None:
        page = self.client.get("/api/products?limit=20", name="browse").json()
        items = page.get("items") or []
        if items:
            product = random.choice(items)["id"]
            self.client.get(f"/api/products/{product}", name="product")

    @task(6)
    def search(self) -> None:
        word = random.choice(WORDS)
        self.client.get(f"/api/products/search?q={word}&limit=20", name="search")

    @task(3)
    def read_reviews(self) -> None:
        product = random.choice(PRODUCTS)
        self.client.get(f"/api/reviews?product_id={product}&sort=helpful", name="reviews")

    @task(1)
    def write_review(self) -> None:
        rating, body = random.choice(REVIEWS)
        with self.client.post(
            "/api/reviews",
            json={"product_id": random.choice(PRODUCTS), "rating": rating, "body": body},
            name="write review",
            catch_response=True,
        ) as answer:
            if answer.status_code == 409:
                answer.success()  # reviewed this product before: the API's answer, not a fault

    @task(2)
    def wishlist(self) -> None:
        """Save a product to the shopper's list; then, as often as not, move it to the
        cart (the wishlist service calls orders with the shopper's token) or drop one."""
        if self.wishlist_id is None:
            self.wishlist_id = self._own_wishlist()
        base = f"/api/wishlists/{self.wishlist_id}"
        product = random.choice(PRODUCTS)
        saved = self.client.put(f"{base}/items/{product}", name="wishlist add")
        if saved.status_code != 200:
            return
        items = saved.json()["items"]
        roll = random.random()
        if roll < 0.25:
            self.client.post(
                f"{base}/items/{product}/to-cart", json={"quantity": 1}, name="wishlist to cart"
            )
        elif roll < 0.5 or len(items) > WISHLIST_ITEMS:
            dropped = random.choice(items)["product_id"]
            self.client.delete(f"{base}/items/{dropped}", name="wishlist remove")

    def _own_wishlist(self) -> str:
        """The shopper's first list, made on the first visit."""
        lists = self.client.get("/api/wishlists", name="wishlists")
        lists.raise_for_status()
        own = lists.json()["items"]
        if own:
            found: str = own[0]["id"]
            return found
        made = self.client.post("/api/wishlists", json={"name": "Wishes"}, name="new wishlist")
        made.raise_for_status()
        created: str = made.json()["id"]
        return created

    @task(2)
    def check_out(self) -> None:
        product = random.choice(PRODUCTS)
        self.client.put(
            f"/api/cart/items/{product}", json={"quantity": 1}, name="add to cart"
        ).raise_for_status()
        self.client.get("/api/cart", name="cart")
        started = time.perf_counter()
        placed = self.client.post(
            "/api/orders",
            json={
                "shipping_address": {
                    "name": "Load Test",
                    "line1": "1 Test Street",
                    "city": "Testville",
                    "postal_code": "00000",
                    "country": "DE",
                },
                "payment_token": "tok_approve",
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
            name="checkout",
        )
        if placed.status_code != 202:
            return
        self._await_paid(placed.json(), started)

    def _await_paid(self, order: dict[str, Any], started: float) -> None:
        status: str | None = order.get("status")
        error: Exception | None = None
        while status not in FINAL:
            if time.perf_counter() - started > PAID_TIMEOUT:
                error = TimeoutError(f"order still {status} after {PAID_TIMEOUT:.0f} s")
                break
            time.sleep(0.05)
            read = self.client.get(f"/api/orders/{order['id']}", name="order status")
            if read.status_code == 200:
                status = read.json()["status"]
        if error is None and status != "paid":
            error = RuntimeError(f"order ended {status}")
        events.request.fire(  # type: ignore[no-untyped-call]
            request_type="FLOW",
            name="order paid",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )
