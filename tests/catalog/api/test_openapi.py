"""The OpenAPI document: every operation summarised, typed, with its problems documented."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

pytestmark = pytest.mark.anyio

WRITES = {"post", "patch", "delete"}


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
    ]


async def test_every_operation_is_documented(app: FastAPI) -> None:
    operations = _operations(app)
    assert len(operations) == 12
    for method, path, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        assert operation.get("tags"), where
        success = next(code for code in operation["responses"] if code.startswith("2"))
        if success != "204":
            schema = operation["responses"][success]["content"]["application/json"]["schema"]
            assert "$ref" in schema, where
        if method in WRITES:
            for status in ("401", "403"):
                content = operation["responses"][status]["content"]
                assert "application/problem+json" in content, where
        if operation.get("parameters") or operation.get("requestBody"):
            assert "application/problem+json" in operation["responses"]["422"]["content"], where


async def test_product_schema_has_examples(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    create = schemas["ProductCreate"]["properties"]
    for member in ("name", "price", "currency", "attributes", "image_urls"):
        assert create[member].get("examples"), member


async def test_in_stock_says_where_it_comes_from(app: FastAPI) -> None:
    document = app.openapi()
    schemas = document["components"]["schemas"]
    for model in ("ProductPublic", "ProductCreate", "ProductUpdate"):
        assert "inventory" in schemas[model]["properties"]["in_stock"]["description"], model
    search = document["paths"]["/api/products/search"]["get"]
    (in_stock,) = [p for p in search["parameters"] if p["name"] == "in_stock"]
    assert "inventory" in in_stock["description"]
    patch = document["paths"]["/api/products/{product_id}"]["patch"]
    assert "application/problem+json" in patch["responses"]["409"]["content"]


async def test_the_no_results_report_says_who_may_read_it_and_what_it_holds(app: FastAPI) -> None:
    document = app.openapi()
    report = document["paths"]["/api/products/search/no-results"]["get"]
    for status in ("400", "401", "403", "422", "503"):
        assert "application/problem+json" in report["responses"][status]["content"], status
    assert {p["name"] for p in report["parameters"]} == {"days", "limit"}
    assert all(p["description"] for p in report["parameters"])
    schemas = document["components"]["schemas"]
    for model in ("NoResultReport", "NoResultQuery"):
        assert schemas[model]["description"], model
        assert all(member.get("description") for member in schemas[model]["properties"].values())
