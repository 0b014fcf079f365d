"""Every service's OpenAPI document, and the gateway's merge of them, is valid OpenAPI 3.1.

Checked by an independent validator (openapi-spec-validator), not by FastAPI, which
generates the documents: a header without a `schema` (catalog's `ETag` once was
one) passes FastAPI and breaks client generators. The apps are built in-process
from each service's factory; `app.openapi()` needs no server.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
from fastapi import FastAPI
from openapi_spec_validator import OpenAPIV31SpecValidator

from devstack.openapi import merge_documents
from productstore_contracts.descriptor import ServiceDescriptor
from productstore_contracts.services import DESCRIPTORS

# The one list of services (devstack runs and routes the same ones): a new service's
# descriptor puts its document under these tests.
SERVICES: tuple[ServiceDescriptor, ...] = DESCRIPTORS

# What any service needs to build its app in development; nothing is contacted
# before the lifespan runs, so the JWKS address need not answer.
DEVELOPMENT_SETTINGS = {
    "ENVIRONMENT": "development",
    "JWT_JWKS_URL": "http://127.0.0.1:9/api/auth/.well-known/jwks.json",
}


def _document(service: ServiceDescriptor, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The service's /openapi.json as its app serves it (JSON: status codes as strings)."""
    for key, value in DEVELOPMENT_SETTINGS.items():
        monkeypatch.setenv(f"{service.env_prefix}{key}", value)
    module, factory = service.app_factory.split(":")
    app = getattr(importlib.import_module(module), factory)()
    assert isinstance(app, FastAPI)
    document: dict[str, Any] = json.loads(json.dumps(app.openapi()))
    return document


def _errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in OpenAPIV31SpecValidator(document).iter_errors()
    ]


def test_the_list_holds_the_services() -> None:
    # A registry change that dropped them would make the tests below pass vacuously.
    assert {service.name for service in SERVICES} >= {"auth", "catalog"}


@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.name)
def test_service_document_is_valid_openapi_3_1(
    service: ServiceDescriptor, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _document(service, monkeypatch)
    assert document["openapi"].startswith("3.1."), document["openapi"]
    assert document["paths"], f"{service.name} documents no path"
    assert _errors(document) == []


def test_gateway_document_is_valid_openapi_3_1(monkeypatch: pytest.MonkeyPatch) -> None:
    documents = {service.name: _document(service, monkeypatch) for service in SERVICES}
    merged = merge_documents(documents, {s.name: s.route_prefixes for s in SERVICES})
    assert {op["x-service"] for item in merged["paths"].values() for op in item.values()} == set(
        documents
    )
    assert _errors(merged) == []


@pytest.mark.parametrize(
    ("header", "valid"),
    [
        ({"description": "version", "schema": {"type": "string"}}, True),
        ({"description": "version"}, False),
    ],
    ids=["with-schema", "without-schema"],
)
def test_the_validator_refuses_a_header_without_schema(header: dict[str, Any], valid: bool) -> None:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/x": {
                "get": {"responses": {"200": {"description": "ok", "headers": {"ETag": header}}}}
            }
        },
    }
    assert (_errors(document) == []) is valid
