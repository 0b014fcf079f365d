"""The CQL of a service's own role: exact statements, and names that cannot smuggle CQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from productstore_contracts.cassandra_roles import (
    RoleError,
    create_role_statement,
    drop_role_statements,
    grant_statements,
    keyspace_statement,
    password_statement,
    replication_literal,
)


def test_statements() -> None:
    assert keyspace_statement("ps_a_catalog", {"class": "NetworkTopologyStrategy", "dc1": 3}) == (
        "CREATE KEYSPACE IF NOT EXISTS ps_a_catalog WITH replication = "
        "{'class': 'NetworkTopologyStrategy', 'dc1': '3'}"
    )
    assert create_role_statement("ps_a_catalog", "it's") == (
        "CREATE ROLE IF NOT EXISTS ps_a_catalog WITH LOGIN = true AND PASSWORD = 'it''s'"
    )
    assert password_statement("ps_a_catalog", "pw") == (
        "ALTER ROLE ps_a_catalog WITH LOGIN = true AND PASSWORD = 'pw'"
    )
    # Exactly what a service does in its own keyspace; no AUTHORIZE, nothing elsewhere.
    assert grant_statements("ps_a_catalog", "ps_a_catalog") == [
        f"GRANT {p} ON KEYSPACE ps_a_catalog TO ps_a_catalog"
        for p in ("CREATE", "ALTER", "DROP", "SELECT", "MODIFY")
    ]
    assert drop_role_statements(role="r", keyspace=None) == ["DROP ROLE IF EXISTS r"]
    assert drop_role_statements(role="r", keyspace="k") == [
        "DROP ROLE IF EXISTS r",
        "DROP KEYSPACE IF EXISTS k",
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: create_role_statement("Catalog", "pw"), "not a lower-case CQL identifier"),
        (lambda: create_role_statement("a; DROP KEYSPACE x", "pw"), "not a lower-case"),
        (lambda: create_role_statement("catalog", ""), "needs a password"),
        (lambda: grant_statements("catalog", "ks-1"), "keyspace 'ks-1'"),
        (lambda: replication_literal({"dc1": 3}), 'needs a "class"'),
        (lambda: replication_literal({"class": "X', 'y': '1"}), "not a plain map"),
    ],
)
def test_refused(make: Callable[[], object], message: str) -> None:
    with pytest.raises(RoleError, match=message):
        make()
