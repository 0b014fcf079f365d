"""The call graph: the one table of HTTP calls between the store's services."""

from __future__ import annotations

import pytest

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
        ("auth", (GATEWAY, *[s for s in SERVICE_NAMES if s != "auth"])),
        ("catalog", (GATEWAY, "orders", "wishlist", "recommendations")),
        ("inventory", (GATEWAY, "orders")),
        ("orders", (GATEWAY,)),
        ("wishlist", (GATEWAY,)),
        ("reviews", (GATEWAY,)),
        # Stock, order and price events reach it over Kafka, not HTTP.
        ("notifications", (GATEWAY,)),
        ("analytics", (GATEWAY,)),
        ("recommendations", (GATEWAY,)),
    ],
)
def test_callers_of(service: str, callers: tuple[str, ...]) -> None:
    assert callers_of(service) == callers


def test_allowed_callers_names_every_caller_and_admits_only_running_ones() -> None:
    allowed = allowed_callers("catalog", ["auth", "catalog", "orders"])
    assert list(allowed) == list(CALLERS)
    assert {caller for caller, ok in allowed.items() if ok} == {GATEWAY, "orders"}


def test_unknown_service() -> None:
    with pytest.raises(KeyError, match="unknown service 'payments'"):
        callers_of("payments")


@pytest.mark.parametrize(
    ("enabled", "messages"),
    [
        (list(SERVICE_NAMES), []),
        (["auth", "catalog"], []),
        (
            ["auth", "orders", "catalog"],
            [
                "orders calls inventory, but services.inventory.enabled is false: "
                "enable inventory or disable orders"
            ],
        ),
        (
            ["wishlist"],
            [
                "wishlist calls auth, but services.auth.enabled is false: "
                "enable auth or disable wishlist",
                "wishlist calls catalog, but services.catalog.enabled is false: "
                "enable catalog or disable wishlist",
            ],
        ),
    ],
    ids=["all", "core", "orders-without-inventory", "wishlist-alone"],
)
def test_unmet_calls(enabled: list[str], messages: list[str]) -> None:
    assert unmet_calls(enabled) == messages
