"""CassandraSession against devstack's node: policies, prepared statements, asyncio, readiness."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from cassandra import ConsistencyLevel, InvalidRequest
from cassandra.cluster import EXEC_PROFILE_DEFAULT
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import SimpleStatement

from devstack.components.cassandra import Cassandra
from productstore_common.cassandra import (
    CassandraConfigError,
    CassandraSession,
    CassandraUnavailableError,
    consistency_level,
    serial_consistency_level,
)
from tests.common.cassandra.support import connect

ROWS = 25
INSERT = "INSERT INTO items (shelf, n, label) VALUES (?, ?, ?)"
BY_KEY = "SELECT label FROM items WHERE shelf = ? AND n = ?"


@pytest.fixture(scope="module")
def items(db: CassandraSession, cassandra: Cassandra) -> Iterator[CassandraSession]:
    """A session bound to a module keyspace, as a service's is, with ROWS rows in `items`."""
    keyspace = f"ps_{uuid.uuid4().hex[:16]}"
    db.execute(
        SimpleStatement(
            f"CREATE KEYSPACE {keyspace} WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
    )
    try:
        service = connect(cassandra, keyspace=keyspace)
        try:
            service.execute(
                SimpleStatement(
                    "CREATE TABLE items (shelf text, n int, label text, PRIMARY KEY (shelf, n))"
                )
            )
            for n in range(ROWS):
                service.execute(INSERT, ("s", n, f"item-{n}"))
            yield service
        finally:
            service.close()
    finally:
        db.execute(SimpleStatement(f"DROP KEYSPACE IF EXISTS {keyspace}"), timeout=60)


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("LOCAL_QUORUM", ConsistencyLevel.LOCAL_QUORUM),
        ("one", ConsistencyLevel.ONE),
        (" quorum ", ConsistencyLevel.QUORUM),
        ("EACH_QUORUM", ConsistencyLevel.EACH_QUORUM),
    ],
)
def test_consistency_names(name: str, level: int) -> None:
    assert consistency_level(name) == level


@pytest.mark.parametrize("name", ["LOCAL_QUROUM", "", "SERIAL"])
def test_bad_consistency_names_list_the_valid_ones(name: str) -> None:
    with pytest.raises(CassandraConfigError, match=r"expected one of .*LOCAL_QUORUM"):
        consistency_level(name)


def test_serial_consistency_names() -> None:
    assert serial_consistency_level("local_serial") == ConsistencyLevel.LOCAL_SERIAL
    with pytest.raises(CassandraConfigError, match="LOCAL_SERIAL, SERIAL"):
        serial_consistency_level("QUORUM")


def test_default_profile_is_token_aware_in_the_local_dc(cassandra: Cassandra) -> None:
    with connect(cassandra, consistency="LOCAL_QUORUM", serial_consistency="SERIAL") as db:
        profile = db.cluster.profile_manager.profiles[EXEC_PROFILE_DEFAULT]
        policy = profile.load_balancing_policy
        assert isinstance(policy, TokenAwarePolicy)
        assert isinstance(policy._child_policy, DCAwareRoundRobinPolicy)
        assert policy._child_policy.local_dc == cassandra.local_dc
        assert profile.consistency_level == ConsistencyLevel.LOCAL_QUORUM
        assert profile.serial_consistency_level == ConsistencyLevel.SERIAL
        assert db.cluster.protocol_version == 5
        # LOCAL_QUORUM on a one-node data centre: the statement goes through.
        assert db.execute("SELECT release_version FROM system.local").one().release_version


def test_unreachable_cluster_is_one_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    started = time.monotonic()
    with pytest.raises(CassandraUnavailableError, match=f"127.0.0.1:{port}"):
        CassandraSession.connect(
            contact_points=["127.0.0.1"], port=port, local_dc="dc1", connect_timeout=1
        )
    assert time.monotonic() - started < 10


def test_wrong_local_dc_and_missing_keyspace_are_named(cassandra: Cassandra) -> None:
    with pytest.raises(
        CassandraUnavailableError,
        match=f"no data centre is named 'nowhere'; this cluster has {cassandra.local_dc}",
    ):
        connect(cassandra, local_dc="nowhere")
    with pytest.raises(
        CassandraUnavailableError, match="keyspace does not exist: run the service's migrations"
    ):
        connect(cassandra, keyspace=f"ps_absent_{uuid.uuid4().hex[:8]}")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"contact_points": []}, "no Cassandra contact points"),
        ({"username": "svc"}, "username and password go together"),
        ({"consistency": "MOST"}, "unknown consistency 'MOST'"),
        ({"keyspace": "bad-name"}, "not a valid keyspace name"),
    ],
)
def test_bad_parameters_fail_before_connecting(kwargs: dict[str, object], error: str) -> None:
    params: dict[str, object] = {"contact_points": ["127.0.0.1"], "local_dc": "dc1", **kwargs}
    with pytest.raises(CassandraConfigError, match=error):
        CassandraSession.connect(**params)  # type: ignore[arg-type]


def test_statements_are_prepared_once(items: CassandraSession) -> None:
    cql = BY_KEY
    results: list[object] = []

    def prepare() -> None:
        results.append(items.prepare(cql))

    threads = [threading.Thread(target=prepare) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(statement) for statement in results}) == 1
    assert items.prepare(cql) is results[0]
    # execute with the string goes through the same cached statement.
    assert items.execute(cql, ("s", 3)).one().label == "item-3"
    assert items.prepare(cql) is results[0]


def test_async_queries_run_concurrently(items: CassandraSession) -> None:
    cql = BY_KEY
    in_flight = 0
    most_in_flight = 0

    async def read(n: int) -> str:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        try:
            page = await items.execute_async(cql, ("s", n))
        finally:
            in_flight -= 1
        label: str = page.one().label
        return label

    async def main() -> list[str]:
        await items.prepare_async(cql)  # so every request below is in flight at once
        return await asyncio.gather(*(read(n) for n in range(ROWS)))

    labels = asyncio.run(main())
    assert labels == [f"item-{n}" for n in range(ROWS)]
    # Had execute_async blocked the loop, each read would finish before the next began.
    assert most_in_flight == ROWS


def test_async_errors_reach_the_awaiting_coroutine(items: CassandraSession) -> None:
    async def main() -> None:
        await items.execute_async(SimpleStatement("SELECT nope FROM items"))

    with pytest.raises(InvalidRequest, match="nope"):
        asyncio.run(main())


def test_async_paging(items: CassandraSession) -> None:
    cql = "SELECT n FROM items WHERE shelf = ?"

    async def main() -> tuple[list[int], list[int], list[int]]:
        first = await items.execute_async(cql, ("s",), fetch_size=10)
        assert first.paging_state is not None
        second = await items.execute_async(
            cql, ("s",), fetch_size=10, paging_state=first.paging_state
        )
        every = await items.execute_all(cql, ("s",), fetch_size=7)
        return [r.n for r in first.rows], [r.n for r in second.rows], [r.n for r in every]

    first, second, every = asyncio.run(main())
    assert first == list(range(10))
    assert second == list(range(10, 20))
    assert every == list(range(ROWS))


def test_lightweight_transaction_result(items: CassandraSession) -> None:
    cql = INSERT + " IF NOT EXISTS"
    key = uuid.uuid4().hex

    async def main() -> tuple[bool, bool, str]:
        first = await items.execute_async(cql, (key, 1, "first"))
        second = await items.execute_async(cql, (key, 1, "second"))
        return first.was_applied, second.was_applied, second.one().label

    assert asyncio.run(main()) == (True, False, "first")


def test_ready_until_closed(cassandra: Cassandra) -> None:
    db = connect(cassandra)
    try:
        assert asyncio.run(db.ready()) is True
    finally:
        db.close()
    assert asyncio.run(db.ready()) is False
