"""Merging the services' OpenAPI documents into the gateway's one (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.openapi import OpenAPIMergeError, merge_documents

PROBLEM = {"type": "object", "properties": {"title": {"type": "string"}}}
BEARER = {"type": "oauth2", "flows": {"password": {"tokenUrl": "/api/auth/token", "scopes": {}}}}


def _doc(paths: dict[str, Any], schemas: dict[str, Any], version: str = "1.0") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": version},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"Bearer": BEARER}},
        "tags": [{"name": "t", "description": "tag"}],
    }


def _get(ref: str, op_id: str = "read") -> dict[str, Any]:
    return {
        "get": {
            "operationId": op_id,
            "responses": {"200": {"content": {"application/json": {"schema": {"$ref": ref}}}}},
        }
    }


AUTH = _doc(
    {
        "/api/auth/me": _get("#/components/schemas/User", "me"),
        "/healthz": _get("#/components/schemas/Problem", "health"),
    },
    {"User": {"type": "object", "title": "auth user"}, "Problem": PROBLEM},
)
CATALOG = _doc(
    {"/api/products/{id}": _get("#/components/schemas/User", "read")},
    {"User": {"type": "object", "title": "catalog user"}, "Problem": PROBLEM},
)
PREFIXES = {"auth": ["/api/auth/"], "catalog": ["/api/products"]}


def test_routed_paths_only_with_the_owning_service() -> None:
    merged = merge_documents({"auth": AUTH, "catalog": CATALOG}, PREFIXES)
    assert list(merged["paths"]) == ["/api/auth/me", "/api/products/{id}"]
    assert merged["paths"]["/api/auth/me"]["get"]["x-service"] == "auth"
    assert merged["openapi"] == "3.1.0"
    assert "auth 1.0" in merged["info"]["description"]


def test_clashing_schemas_are_prefixed_in_every_service_and_refs_follow() -> None:
    merged = merge_documents({"catalog": CATALOG, "auth": AUTH}, PREFIXES)
    schemas = merged["components"]["schemas"]
    assert set(schemas) == {"auth_User", "catalog_User", "Problem"}
    assert schemas["auth_User"]["title"] == "auth user"
    auth_ref = merged["paths"]["/api/auth/me"]["get"]["responses"]["200"]["content"]
    assert auth_ref["application/json"]["schema"]["$ref"] == "#/components/schemas/auth_User"
    catalog_ref = merged["paths"]["/api/products/{id}"]["get"]["responses"]["200"]["content"]
    assert catalog_ref["application/json"]["schema"]["$ref"] == "#/components/schemas/catalog_User"
    # Identical definitions stay shared under their own names.
    assert merged["components"]["securitySchemes"] == {"Bearer": BEARER}
    assert merged["tags"] == [{"name": "t", "description": "tag"}]


def test_result_does_not_depend_on_the_order_services_come_in() -> None:
    one = merge_documents({"auth": AUTH, "catalog": CATALOG}, PREFIXES)
    other = merge_documents({"catalog": CATALOG, "auth": AUTH}, PREFIXES)
    assert one == other


def test_inputs_are_not_modified() -> None:
    before = repr(AUTH)
    merge_documents({"auth": AUTH, "catalog": CATALOG}, PREFIXES)
    assert repr(AUTH) == before


def test_shared_operation_ids_are_prefixed() -> None:
    other = _doc({"/api/orders": _get("#/components/schemas/Problem", "read")}, {})
    merged = merge_documents(
        {"catalog": CATALOG, "orders": other}, {**PREFIXES, "orders": ["/api/orders"]}
    )
    ids = {p: item["get"]["operationId"] for p, item in merged["paths"].items()}
    assert ids == {"/api/orders": "orders_read", "/api/products/{id}": "catalog_read"}


def test_a_path_served_by_two_services_is_refused() -> None:
    with pytest.raises(OpenAPIMergeError, match=r"/api/auth/me is served by both auth and copy"):
        merge_documents({"auth": AUTH, "copy": AUTH}, {"auth": ["/api/"], "copy": ["/api/auth/"]})


def test_no_services_is_an_empty_document() -> None:
    merged = merge_documents({}, {})
    assert merged["paths"] == {}
    assert "components" not in merged
