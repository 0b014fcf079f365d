"""Migrations on devstack's 3-node cluster: racing replicas through different coordinators."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from pathlib import Path

import pytest
from cassandra.query import SimpleStatement

from devstack.components.cassandra import CassandraCluster
from productstore_common.cassandra import CassandraSession, MigrationReport, Migrator
from productstore_common.cassandra.lock import LOCK_TABLE
from productstore_common.cassandra.migrations import HISTORY_TABLE, table_id
from tests.common.cassandra.support import write_migrations

# Serial in make test: three more Cassandra JVMs on two cores, outside `make up`'s stack.
pytestmark = pytest.mark.serial

FILES = {
    "V0001__create_runs.cql": "CREATE TABLE runs (id text PRIMARY KEY, n counter);",
    "V0002__count_a_run.cql": "UPDATE runs SET n = n + 1 WHERE id = 'migrations';",
    "V0003__create_notes.cql": "CREATE TABLE notes (id int PRIMARY KEY, body text);",
}


def connect_to(cluster: CassandraCluster, point: str) -> CassandraSession:
    return CassandraSession.connect(
        contact_points=[point],
        port=cluster.port,
        local_dc=cluster.local_dc,
        consistency="LOCAL_QUORUM",
        connect_timeout=10,
        request_timeout=30,
    )


@pytest.mark.slow
def test_replicas_on_every_node_apply_each_file_once(
    cassandra_cluster: CassandraCluster, tmp_path: Path
) -> None:
    directory = write_migrations(tmp_path, FILES)
    keyspace = f"ps_{uuid.uuid4().hex[:16]}"
    replication: dict[str, str | int] = {
        "class": "NetworkTopologyStrategy",
        cassandra_cluster.local_dc: 3,
    }
    points = cassandra_cluster.contact_points
    start = threading.Barrier(len(points))
    reports: list[MigrationReport] = []
    errors: list[BaseException] = []

    def replica(point: str) -> None:
        with connect_to(cassandra_cluster, point) as own:
            start.wait(timeout=60)
            try:
                migrator = Migrator(
                    own, keyspace, directory, replication=replication, lock_poll_interval=0.3
                )
                reports.append(migrator.migrate())
            except BaseException as exc:  # recorded for the assertion below
                errors.append(exc)

    checker = connect_to(cassandra_cluster, points[0])
    try:
        threads = [threading.Thread(target=replica, args=(point,)) for point in points]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=240)
        assert errors == []
        applied = Counter(a.version for report in reports for a in report.applied)
        assert applied == {1: 1, 2: 1, 3: 1}

        assert checker.cluster.control_connection.wait_for_schema_agreement(wait_time=30)
        ids = checker.execute(
            SimpleStatement(
                "SELECT table_name, id FROM system_schema.tables WHERE keyspace_name = %s"
            ),
            (keyspace,),
        )
        by_name = {row.table_name: row.id for row in ids}
        # Whoever created the bookkeeping tables, they got the one derived id.
        assert by_name[HISTORY_TABLE] == table_id(keyspace, HISTORY_TABLE)
        assert by_name[LOCK_TABLE] == table_id(keyspace, LOCK_TABLE)
        count = checker.execute(
            SimpleStatement("SELECT n FROM runs WHERE id = 'migrations'", keyspace=keyspace)
        )
        assert count.one().n == 1
    finally:
        checker.execute(SimpleStatement(f"DROP KEYSPACE IF EXISTS {keyspace}"), timeout=120)
        checker.close()
