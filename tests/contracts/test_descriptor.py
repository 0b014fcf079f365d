"""ServiceDescriptor refuses what would break devstack, the gateway or the operator."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from productstore_contracts.descriptor import (
    DescriptorError,
    SecretFile,
    ServiceDescriptor,
    check_registry,
)
from productstore_contracts.services import AUTH, CATALOG, DESCRIPTORS, descriptor

BASE = ServiceDescriptor(
    name="things", summary="things", route_prefixes=("/api/things",), port=8150
)

BAD: list[tuple[dict[str, Any], str]] = [
    ({"name": "Things"}, "service name 'Things'"),
    ({"name": "my-things"}, "service name 'my-things'"),
    ({"route_prefixes": ()}, "at least one public route prefix"),
    ({"route_prefixes": ("/things",)}, "must start with /api/"),
    ({"route_prefixes": ("/api/Things",)}, "must start with /api/"),
    ({"port": 8080}, "outside devstack's service range"),
    ({"calls": frozenset({"things"})}, "lists itself"),
    ({"produces": ("t",), "dependencies": frozenset({"cassandra"})}, "add 'kafka'"),
    ({"produces": ("t",), "dependencies": frozenset({"kafka"})}, "add 'cassandra'"),
    ({"consumes": ("bad topic",), "dependencies": frozenset({"kafka"})}, "not a Kafka topic"),
    (
        {"secrets": (SecretFile("a", "x/a", ("key",)), SecretFile("a", "x/b", ("key",)))},
        "share a file name",
    ),
    ({"service_tokens": frozenset({"auth"})}, "add 'auth' to calls"),
    (
        {"calls": frozenset({"auth"}), "service_tokens": frozenset({"auth", "orders"})},
        "service tokens for orders, which it does not call",
    ),
    (
        {
            "calls": frozenset({"auth"}),
            "service_tokens": frozenset({"auth"}),
            "secrets": (SecretFile("auth_client", "x/a", ("secret",)),),
        },
        "is its auth client's secret",
    ),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_a_descriptor_refuses(change: dict[str, Any], message: str) -> None:
    with pytest.raises(DescriptorError, match=message):
        replace(BASE, **change)


@pytest.mark.parametrize(
    ("file", "key", "fields", "message"),
    [
        ("Bad", "a/b", ("key",), "secret file 'Bad'"),
        ("ok", "A/b", ("key",), "secret key 'A/b'"),
        ("ok", "a/b", (), "needs fields"),
        ("ok", "a/b", ("Key",), "needs fields"),
    ],
)
def test_a_secret_file_refuses(file: str, key: str, fields: tuple[str, ...], message: str) -> None:
    with pytest.raises(DescriptorError, match=message):
        SecretFile(file, key, fields)


def test_a_provided_secret_needs_a_folder() -> None:
    # The agent lists the key's folder to render an empty file while it is missing.
    with pytest.raises(DescriptorError, match="key 'sms' needs a folder"):
        SecretFile("sms", "sms", ("api_key",), kind="provided")
    assert SecretFile("sms", "n/provided/sms", ("api_key",), kind="provided").kind == "provided"


def test_derived_names() -> None:
    assert (BASE.package, BASE.env_prefix) == ("productstore_things", "THINGS_")
    assert BASE.app_factory == "productstore_things.app.main:create_app"
    assert not BASE.verifies_tokens
    assert replace(BASE, calls=frozenset({"auth"})).verifies_tokens


REGISTRY_BAD: list[tuple[tuple[ServiceDescriptor, ...], str]] = [
    ((AUTH, replace(BASE, name="auth", port=8151)), "two descriptors are named auth"),
    ((AUTH, replace(BASE, port=AUTH.port)), "both use port 8101"),
    ((CATALOG, AUTH, replace(BASE, route_prefixes=("/api/products/x",))), "overlaps /api/products"),
    ((AUTH, replace(BASE, route_prefixes=("/api/auth",))), "overlaps /api/auth"),
    ((AUTH, replace(BASE, calls=frozenset({"orders"}))), "calls orders, which has no descriptor"),
]


@pytest.mark.parametrize(("registry", "message"), REGISTRY_BAD)
def test_a_registry_refuses(registry: tuple[ServiceDescriptor, ...], message: str) -> None:
    with pytest.raises(DescriptorError, match=message):
        check_registry(registry)


def test_the_registry_holds_the_services_that_exist() -> None:
    check_registry(DESCRIPTORS)
    assert [d.name for d in DESCRIPTORS] == [
        "auth",
        "catalog",
        "orders",
        "inventory",
        "reviews",
        "wishlist",
        "notifications",
    ]
    assert descriptor("catalog") is CATALOG
    with pytest.raises(
        KeyError,
        match="no service 'analytics' exists; services are auth, catalog, orders, inventory",
    ):
        descriptor("analytics")
