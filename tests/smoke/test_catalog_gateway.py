"""The catalog service from devstack, through the nginx gateway, with devstack's admin."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.components.nginx import Nginx
from devstack.components.services import AuthService, CatalogService
from tests.support.gateway import admin_token


@pytest.fixture
def gateway(catalog_service: CatalogService, nginx: Nginx) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=nginx.url, timeout=30) as client:
        yield client


@pytest.fixture
def admin(auth_service: AuthService, nginx: Nginx) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token(auth_service, nginx.url)}"}


def test_admin_creates_a_product_that_reads_and_searches_back(
    gateway: httpx.Client, admin: dict[str, str]
) -> None:
    slug = f"smoke-{uuid.uuid4().hex[:10]}"
    category = gateway.post(
        "/api/categories",
        json={"slug": slug, "name": "Smoke tests", "description": "Дымовые тесты"},
        headers=admin,
    )
    assert category.status_code == 201, category.text
    word = f"zebrafish{uuid.uuid4().hex[:6]}"
    created = gateway.post(
        "/api/products",
        json={
            "name": f"Чайник {word}",
            "description": "Электрический чайник из стекла",
            "category": slug,
            "price": "2490",
            "currency": "RUB",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    product = created.json()
    assert created.headers["location"] == f"/api/products/{product['id']}"
    assert re.fullmatch(r"[0-9a-f]{32}", created.headers["x-request-id"])
    try:
        _read_and_search(gateway, product, word, slug)
    finally:
        # Leave the demo catalog as it was.
        gateway.delete(f"/api/products/{product['id']}", headers=admin)
        gateway.delete(f"/api/categories/{slug}", headers=admin)


def _read_and_search(gateway: httpx.Client, product: dict[str, Any], word: str, slug: str) -> None:
    read = gateway.get(f"/api/products/{product['id']}")
    assert read.status_code == 200, read.text
    assert read.json()["name"] == f"Чайник {word}"
    assert read.headers["x-content-type-options"] == "nosniff"

    listed = gateway.get("/api/categories").json()["items"]
    assert slug in {c["slug"] for c in listed}

    # The search index follows the product events: give it a moment.
    deadline = time.monotonic() + 20
    while True:
        found = gateway.get("/api/products/search", params={"q": word, "category": slug})
        assert found.status_code == 200, found.text
        if found.json()["items"] or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert [item["id"] for item in found.json()["items"]] == [product["id"]]


def test_writes_without_a_token_are_401_problems(gateway: httpx.Client) -> None:
    response = gateway.post("/api/categories", json={"slug": "nope", "name": "Nope"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_unknown_product_is_a_404_problem_from_the_catalog(gateway: httpx.Client) -> None:
    response = gateway.get(f"/api/products/{uuid.uuid4()}")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    # The catalog's answer, not the gateway's "no route" one.
    assert "/api/docs/" not in response.json()["detail"]


def test_catalog_paths_are_in_the_combined_openapi(gateway: httpx.Client) -> None:
    document = gateway.get("/api/openapi.json").json()
    for path in ("/api/products", "/api/products/{product_id}", "/api/categories"):
        assert path in document["paths"], path
    assert document["paths"]["/api/products"]["get"]["x-service"] == "catalog"
    assert "/api/auth/login" in document["paths"]


def test_catalog_is_a_prometheus_target(catalog_service: CatalogService) -> None:
    targets = json.loads(catalog_service.target_file.read_text())
    # The sample store's labels too: the SLO rules select on namespace, store and service.
    assert targets == [
        {
            "targets": ["127.0.0.1:8102"],
            "labels": {"namespace": "default", "store": "devstack", "service": "catalog"},
        }
    ]
    metrics = httpx.get(f"{catalog_service.url}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert "http_requests_total" in metrics.text
