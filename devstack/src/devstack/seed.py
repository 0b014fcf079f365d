"""Demo data for a running stack, through the gateway like any client: `devstack seed`.

Logs in as the administrator the auth component creates (its password is in
the auth state directory, mode 0600), then creates the demo categories and a
few hundred Russian and English products from the catalog's corpus generator.
Idempotent: categories are created when missing and each product carries a
``demo_key`` attribute (``devstack-<seed>-<n>``), so a second run only adds
what the first did not.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devstack.errors import DevstackError
from productstore_catalog.demo.corpus import CATEGORIES, DemoProduct, generate_products

DEMO_KEY = "demo_key"
DEFAULT_PRODUCTS = 300
DEFAULT_SEED = 2026
# Bounded retries of a 429 (the gateway's rate limit) or a 503 (a service restarting).
_RETRIES = 30
_MAX_PAGES = 10_000


@dataclass(frozen=True)
class SeedResult:
    categories_created: int
    categories_total: int
    products_created: int
    products_present: int


class GatewayClient:
    """An admin's HTTP client of the gateway that waits out 429s as a polite client would."""

    def __init__(self, gateway_url: str, email: str, password: str) -> None:
        self.http = httpx.Client(base_url=gateway_url, timeout=30)
        login = self.request("POST", "/api/auth/login", json={"email": email, "password": password})
        if login.status_code != 200:
            self.http.close()
            raise DevstackError(
                "seed",
                f"the administrator {email} cannot log in ({login.status_code}: "
                f"{login.text[:300]})",
                hint="auth creates the administrator when it starts: restart it with "
                "`devstack down auth && devstack up` (the password file must not change "
                "after the account exists)",
            )
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for _ in range(_RETRIES):
            response = self.http.request(method, path, **kwargs)
            if response.status_code not in (429, 503):
                return response
            time.sleep(float(response.headers.get("retry-after", "1")))
        return response

    def close(self) -> None:
        self.http.close()


def _expect(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    if response.status_code not in statuses:
        raise DevstackError(
            "seed",
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:500]}",
            hint="check the service's log (`devstack logs catalog`)",
        )
    body: dict[str, Any] = response.json() if response.content else {}
    return body


def _demo_keys(client: GatewayClient) -> set[str]:
    """The demo keys of the products the catalog holds (every page of the listing)."""
    keys: set[str] = set()
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        params: dict[str, str | int] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = _expect(client.request("GET", "/api/products", params=params), 200)
        keys.update(
            item["attributes"][DEMO_KEY] for item in page["items"] if DEMO_KEY in item["attributes"]
        )
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return keys


def product_body(seed: int, index: int, product: DemoProduct) -> dict[str, Any]:
    """The catalog's ProductCreate for a demo product, tagged with its demo key."""
    return {
        "name": product.name,
        "description": product.description,
        "category": product.category,
        "price": str(product.price),
        "currency": product.currency,
        "attributes": {**product.attributes, DEMO_KEY: f"devstack-{seed}-{index}"},
        "image_urls": product.image_urls,
        "in_stock": product.in_stock,
    }


def _missing(count: int, seed: int, present: set[str]) -> Iterator[dict[str, Any]]:
    for index, product in enumerate(generate_products(count, seed)):
        body = product_body(seed, index, product)
        if body["attributes"][DEMO_KEY] not in present:
            yield body


def seed_demo_data(
    gateway_url: str,
    *,
    email: str,
    password_file: Path,
    products: int = DEFAULT_PRODUCTS,
    seed: int = DEFAULT_SEED,
    concurrency: int = 4,
) -> SeedResult:
    """Create what is missing of the demo catalog; see the module docstring."""
    if not password_file.is_file():
        raise DevstackError(
            "seed",
            f"the administrator's password file {password_file} does not exist",
            hint="start the stack first (`devstack up`): auth writes it before it starts",
        )
    client = GatewayClient(gateway_url, email, password_file.read_text().strip())
    try:
        existing = _expect(client.request("GET", "/api/categories"), 200)["items"]
        slugs = {c["slug"] for c in existing}
        created_categories = 0
        for category in CATEGORIES:
            if category.slug in slugs:
                continue
            body = {
                "slug": category.slug,
                "name": category.name_en,
                "description": f"{category.name_en} / {category.name_ru}",
            }
            # 409: created meanwhile by a concurrent seed; that is the wanted state.
            _expect(client.request("POST", "/api/categories", json=body), 201, 409)
            created_categories += 1

        present = _demo_keys(client)
        bodies = list(_missing(products, seed, present))
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for response in pool.map(
                lambda body: client.request("POST", "/api/products", json=body), bodies
            ):
                _expect(response, 201)
        return SeedResult(
            categories_created=created_categories,
            categories_total=len(slugs) + created_categories,
            products_created=len(bodies),
            products_present=len(present),
        )
    finally:
        client.close()
