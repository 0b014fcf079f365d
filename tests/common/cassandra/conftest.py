"""Fixtures for the Cassandra layer: a session on devstack's node and throw-away keyspaces."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from cassandra.query import SimpleStatement

from devstack.components.cassandra import Cassandra
from productstore_common.cassandra import CassandraSession
from tests.common.cassandra.support import connect


@pytest.fixture(scope="module")
def db(cassandra: Cassandra) -> Iterator[CassandraSession]:
    session = connect(cassandra)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def new_keyspace(db: CassandraSession) -> Iterator[Callable[[], str]]:
    """Unique keyspace names; every keyspace named is dropped at the end of the test."""
    names: list[str] = []

    def make() -> str:
        names.append(f"ps_{uuid.uuid4().hex[:16]}")
        return names[-1]

    yield make
    for name in names:
        db.execute(SimpleStatement(f"DROP KEYSPACE IF EXISTS {name}"), timeout=60)


@pytest.fixture
def keyspace(new_keyspace: Callable[[], str]) -> str:
    return new_keyspace()
