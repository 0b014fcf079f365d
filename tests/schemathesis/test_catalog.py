"""Property-based tests of the running catalog service against its own OpenAPI document.

As devstack's administrator, so writes run too; what the run creates is
deleted afterwards (products first, then their categories), so the demo
catalog keeps only its demo data.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis

from devstack.components.services import CatalogService
from tests.schemathesis.conftest import run_schema

# Serial in make test: it deletes every product and category made during its run, other tests' too.
pytestmark = pytest.mark.serial


def _snapshot(client: httpx.Client) -> tuple[set[str], set[str]]:
    slugs = {c["slug"] for c in client.get("/api/categories").json()["items"]}
    ids: set[str] = set()
    cursor = None
    for _ in range(10_000):
        params: dict[str, str | int] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/products", params=params).json()
        ids.update(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    return slugs, ids


def test_catalog_conforms_to_its_openapi(
    catalog_service: CatalogService, admin_headers: dict[str, str]
) -> None:
    schema = schemathesis.openapi.from_url(f"{catalog_service.url}/openapi.json")
    with httpx.Client(base_url=catalog_service.url, headers=admin_headers, timeout=30) as client:
        slugs_before, ids_before = _snapshot(client)
        try:
            calls, failures = run_schema(schema, catalog_service.url, admin_headers)
        finally:
            slugs_after, ids_after = _snapshot(client)
            for product_id in ids_after - ids_before:
                client.delete(f"/api/products/{product_id}")
            for slug in slugs_after - slugs_before:
                client.delete(f"/api/categories/{slug}")
    assert calls > 100
    assert not failures, "\n\n".join(failures)
