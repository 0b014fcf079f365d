"""The call graph: the one table of HTTP calls between the store's services."""

from __future__ import annotations

import pytest

from productstore_contracts.services import DESCRIPTORS
from productstore_operator.callgraph import (
    CALLERS,
    CALLS,
    GATEWAY,
    allowed_callers,
    callers_of,
    unmet_calls,
)
from productstore_operator.models import SERVICE_NAMES


def test_table_names_only_known_callers_and_services() -> None:
    assert set(CALLS) == set(CALLERS)
    for callees in CALLS.values():
        assert callees <= set(SERVICE_NAMES)


def test_no_service_calls_itself_and_nothing_calls_the_gateway() -> None:
    for service in SERVICE_NAMES:
        assert service not in CALLS[service]
    assert all(GATEWAY not in callees for callees in CALLS.values())


@pytest.mark.parametrize(
    ("service", "callers"),
    [
        # catalog, orders, inventory, wishlist, reviews and notifications verify tokens
        # with auth's JWKS (and notifications reads recipients' addresses from it).
        (
            "auth",
            (GATEWAY, "catalog", "orders", "inventory", "wishlist", "reviews", "notifications"),
        ),
        # orders reads prices from the catalog and availability from inventory; wishlist
        # checks products in the catalog and puts them in orders' carts; notifications
        # reads product names.
        ("catalog", (GATEWAY, "orders", "wishlist", "notifications")),
        ("orders", (GATEWAY, "wishlist")),
        ("inventory", (GATEWAY, "orders")),
        ("wishlist", (GATEWAY,)),
        ("reviews", (GATEWAY,)),
        ("notifications", (GATEWAY,)),
        # Planned services have no descriptor yet: only the gateway would route to them.
        *(
            (name, (GATEWAY,))
            for name in SERVICE_NAMES
            if name
            not in (
                "auth",
                "catalog",
                "orders",
                "inventory",
                "wishlist",
                "reviews",
                "notifications",
            )
        ),
    ],
)
def test_callers_of(service: str, callers: tuple[str, ...]) -> None:
    assert callers_of(service) == callers


def test_the_calls_are_the_descriptors_calls() -> None:
    for descriptor in DESCRIPTORS:
        assert CALLS[descriptor.name] == descriptor.calls


def test_allowed_callers_names_every_caller_and_admits_only_running_ones() -> None:
    allowed = allowed_callers("auth", ["auth", "catalog", "orders"])
    assert list(allowed) == list(CALLERS)
    assert {caller for caller, ok in allowed.items() if ok} == {GATEWAY, "catalog", "orders"}
    assert {c for c, ok in allowed_callers("auth", ["auth"]).items() if ok} == {GATEWAY}


def test_unknown_service() -> None:
    with pytest.raises(KeyError, match="unknown service 'payments'"):
        callers_of("payments")


@pytest.mark.parametrize(
    ("enabled", "messages"),
    [
        (list(SERVICE_NAMES), []),
        (["auth", "catalog"], []),
        (
            ["catalog"],
            [
                "catalog calls auth, but services.auth.enabled is false: "
                "enable auth or disable catalog"
            ],
        ),
    ],
    ids=["all", "core", "catalog-alone"],
)
def test_unmet_calls(enabled: list[str], messages: list[str]) -> None:
    assert unmet_calls(enabled) == messages
