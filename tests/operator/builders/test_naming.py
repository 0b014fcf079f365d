"""Names of a store's children."""

from __future__ import annotations

import re

import pytest

from productstore_operator.builders import InvalidSpecError, StoreRef, naming


@pytest.mark.parametrize(
    ("name", "namespace", "problem"),
    [
        ("a" * 41, "ns", "at most 40 characters"),
        ("my.store", "ns", "lower-case letters"),
        ("Shop", "ns", "lower-case letters"),
        ("shop", "Bad_NS", "not a DNS label"),
    ],
)
def test_names_that_cannot_prefix_children_are_refused(
    name: str, namespace: str, problem: str
) -> None:
    with pytest.raises(InvalidSpecError, match=problem):
        StoreRef(name, namespace)


@pytest.mark.parametrize(
    ("function", "args", "expected"),
    [
        (naming.release_name, (), "shop"),
        (naming.component_name, ("catalog",), "shop-catalog"),
        (naming.service_account_name, ("orders",), "shop-orders"),
        (naming.k8ssandra_cluster_name, (), "shop"),
        (
            naming.cassandra_service_host,
            ("dc1", "cluster.local"),
            "shop-dc1-service.ns.svc.cluster.local",
        ),
    ],
)
def test_name(function: object, args: tuple[str, ...], expected: str) -> None:
    assert callable(function)
    assert function(StoreRef("shop", "ns"), *args) == expected


def test_unknown_service_is_refused() -> None:
    with pytest.raises(KeyError, match="unknown service 'payments'"):
        naming.component_name(StoreRef("shop", "ns"), "payments")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (StoreRef("shop", "a"), StoreRef("shop", "b")),
        (StoreRef("shop-a", "ns"), StoreRef("shop", "ns")),
        (StoreRef("a" * 40, "ns"), StoreRef("a" * 39 + "b", "ns")),
    ],
)
def test_keyspaces_differ_between_stores(one: StoreRef, other: StoreRef) -> None:
    assert naming.keyspace(one) != naming.keyspace(other)


@pytest.mark.parametrize(
    "store", [StoreRef("shop", "ns"), StoreRef("a" * 40, "n" * 63), StoreRef("0-x", "ns")]
)
def test_keyspace_is_a_cql_name(store: StoreRef) -> None:
    # 32 at most: the chart appends "_<service>" and Cassandra stops at 48.
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,31}", naming.keyspace(store))
    assert len(f"{naming.keyspace(store)}_recommendations") <= 48
    assert naming.keyspace(store) == naming.keyspace(StoreRef(store.name, store.namespace))


def test_longest_children_stay_dns_labels() -> None:
    store = StoreRef("a" * naming.MAX_STORE_NAME, "ns")
    assert len(naming.component_name(store, "recommendations")) <= 63
