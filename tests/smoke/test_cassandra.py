"""Cassandra from devstack is real: CQL round trips on the single node and the 3-node cluster."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import DCAwareRoundRobinPolicy, WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement

from devstack.components.cassandra import Cassandra, CassandraCluster

REQUEST_TIMEOUT = 30.0


def _connect(
    contact_points: Sequence[str], port: int, policy: Any, auth: Any | None = None
) -> Cluster:
    profile = ExecutionProfile(load_balancing_policy=policy, request_timeout=REQUEST_TIMEOUT)
    return Cluster(
        contact_points=list(contact_points),
        port=port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        protocol_version=5,
        connect_timeout=10,
        auth_provider=auth,
    )


@pytest.fixture
def session(cassandra: Cassandra) -> Iterator[Session]:
    cluster = _connect(
        cassandra.contact_points,
        cassandra.port,
        DCAwareRoundRobinPolicy(cassandra.local_dc),
        cassandra.credentials.auth_provider(),
    )
    try:
        yield cluster.connect()
    finally:
        cluster.shutdown()


def test_keyspace_table_insert_select(session: Session) -> None:
    keyspace = f"smoke_{uuid.uuid4().hex}"
    session.execute(
        f"CREATE KEYSPACE {keyspace} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    try:
        session.set_keyspace(keyspace)
        session.execute("CREATE TABLE products (id uuid PRIMARY KEY, name text, price int)")
        # devstack makes storage-attached indexes (SAI) the default secondary index.
        session.execute("CREATE INDEX ON products (name)")
        ids = [uuid.uuid4() for _ in range(3)]
        for number, product_id in enumerate(ids):
            session.execute(
                "INSERT INTO products (id, name, price) VALUES (%s, %s, %s)",
                (product_id, f"product-{number}", 100 + number),
            )

        row = session.execute("SELECT name, price FROM products WHERE id = %s", (ids[1],)).one()
        assert (row.name, row.price) == ("product-1", 101)
        by_name = session.execute("SELECT id FROM products WHERE name = %s", ("product-2",)).all()
        assert [r.id for r in by_name] == [ids[2]]
        index = session.execute(
            "SELECT kind, options FROM system_schema.indexes WHERE keyspace_name = %s", (keyspace,)
        ).one()
        assert (index.kind, index.options["class_name"]) == ("CUSTOM", "sai")
        assert session.execute("SELECT count(*) FROM products").one()[0] == 3
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")


# Serial in make test: three more Cassandra JVMs on two cores, outside `make up`'s stack.
@pytest.mark.serial
@pytest.mark.slow
def test_cluster_replicates_at_consistency_all(cassandra_cluster: CassandraCluster) -> None:
    points, port = cassandra_cluster.contact_points, cassandra_cluster.port
    assert len(points) == 3
    writer_cluster = _connect(points, port, DCAwareRoundRobinPolicy(cassandra_cluster.local_dc))
    # A second client that talks to the last node only: it coordinates the read.
    reader_cluster = _connect([points[-1]], port, WhiteListRoundRobinPolicy([points[-1]]))
    keyspace = f"smoke_{uuid.uuid4().hex}"
    writer: Session | None = None
    try:
        writer = writer_cluster.connect()
        hosts = {h.address: h for h in writer_cluster.metadata.all_hosts()}
        assert sorted(hosts) == sorted(points)
        assert all(h.is_up for h in hosts.values())

        writer.execute(
            f"CREATE KEYSPACE {keyspace} WITH replication = "
            "{'class': 'NetworkTopologyStrategy', 'datacenter1': 3}"
        )
        writer.set_keyspace(keyspace)
        writer.execute("CREATE TABLE kv (k text PRIMARY KEY, v text)")
        assert writer_cluster.control_connection.wait_for_schema_agreement()

        value = uuid.uuid4().hex
        insert = SimpleStatement(
            "INSERT INTO kv (k, v) VALUES (%s, %s)", consistency_level=ConsistencyLevel.ALL
        )
        # Coordinated by the first node; ALL means every replica acknowledged it.
        written = writer.execute(insert, ("key", value), host=hosts[points[0]])
        assert written.response_future.coordinator_host.address == points[0]
        assert len(writer_cluster.metadata.get_replicas(keyspace, b"key")) == 3

        reader = reader_cluster.connect(keyspace)
        select = SimpleStatement(
            "SELECT v FROM kv WHERE k = %s", consistency_level=ConsistencyLevel.ALL
        )
        result = reader.execute(select, ("key",))
        assert result.response_future.coordinator_host.address == points[-1]
        assert result.one().v == value
    finally:
        try:
            if writer is not None:
                writer.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
        finally:
            writer_cluster.shutdown()
            reader_cluster.shutdown()
