"""Versioned CQL migrations against devstack's Cassandra: order, idempotence, edits, races."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from cassandra.query import SimpleStatement

from devstack.components.cassandra import Cassandra
from productstore_common.cassandra import (
    CassandraConfigError,
    CassandraSession,
    MigrationChecksumError,
    MigrationError,
    MigrationFileError,
    MigrationReport,
    Migrator,
)
from productstore_common.cassandra.migrations import replication_cql
from tests.common.cassandra.support import (
    SIMPLE_RF1,
    connect,
    keyspace_exists,
    table_exists,
    write_migrations,
)

# Neither file is idempotent: run twice, the CREATE fails and the counter reads 2.
NON_IDEMPOTENT = {
    "V0001__create_runs.cql": "-- no IF NOT EXISTS on purpose\n"
    "CREATE TABLE runs (id text PRIMARY KEY, n counter);",
    "V0002__count_a_run.cql": "UPDATE runs SET n = n + 1 WHERE id = 'migrations';",
    "V0003__create_notes.cql": "CREATE TABLE notes (id int PRIMARY KEY, body text);\n"
    "INSERT INTO notes (id, body) VALUES (1, 'semi; colon');",
}


RUN_COUNT = "SELECT n FROM runs WHERE id = 'migrations'"


def history(db: CassandraSession, keyspace: str) -> list[tuple[int, str, str]]:
    rows = db.execute(
        SimpleStatement(
            "SELECT version, description, checksum FROM schema_migrations", keyspace=keyspace
        )
    )
    return [(row.version, row.description, row.checksum) for row in rows]


def run_count(db: CassandraSession, keyspace: str) -> int:
    row = db.execute(SimpleStatement(RUN_COUNT, keyspace=keyspace))
    count: int = row.one().n
    return count


def migrator(db: CassandraSession, keyspace: str, directory: Path, **kwargs: object) -> Migrator:
    params: dict[str, object] = {
        "replication": SIMPLE_RF1,
        "lock_poll_interval": 0.2,
        "lock_timeout": 30.0,
        **kwargs,
    }
    return Migrator(db, keyspace, directory, **params)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("replication", "cql"),
    [
        (SIMPLE_RF1, "{'class': 'SimpleStrategy', 'replication_factor': '1'}"),
        (
            {"class": "NetworkTopologyStrategy", "dc1": 3, "dc2": "2"},
            "{'class': 'NetworkTopologyStrategy', 'dc1': '3', 'dc2': '2'}",
        ),
    ],
)
def test_replication_map_to_cql(replication: dict[str, object], cql: str) -> None:
    assert replication_cql(replication) == cql


@pytest.mark.parametrize(
    "replication",
    [
        {"replication_factor": 1},
        {"class": "SimpleStrategy", "replication_factor": True},
        {"class": "SimpleStrategy", "replication_factor": 1.5},
        {"class": "SimpleStrategy'} AND durable_writes = false --"},
        {"class": "SimpleStrategy", "dc-1": 1},
    ],
)
def test_bad_replication_maps_are_refused(replication: dict[str, object]) -> None:
    with pytest.raises(CassandraConfigError, match="replication"):
        replication_cql(replication)


def test_applies_in_order_once_then_only_new_files(
    db: CassandraSession, keyspace: str, tmp_path: Path
) -> None:
    directory = write_migrations(tmp_path, NON_IDEMPOTENT)
    report = migrator(db, keyspace, directory).migrate()
    assert [a.name for a in report.applied] == sorted(NON_IDEMPOTENT)
    assert report.already_applied == 0
    assert [(v, d) for v, d, _ in history(db, keyspace)] == [
        (1, "create runs"),
        (2, "count a run"),
        (3, "create notes"),
    ]
    assert run_count(db, keyspace) == 1
    body = db.execute(SimpleStatement("SELECT body FROM notes WHERE id = 1", keyspace=keyspace))
    body = body.one()
    assert body.body == "semi; colon"

    again = migrator(db, keyspace, directory).migrate()
    assert again.applied == []
    assert again.already_applied == 3
    assert run_count(db, keyspace) == 1

    write_migrations(
        directory, {"V0004__count_again.cql": NON_IDEMPOTENT["V0002__count_a_run.cql"]}
    )
    later = migrator(db, keyspace, directory).migrate()
    assert [a.version for a in later.applied] == [4]
    assert later.already_applied == 3
    assert run_count(db, keyspace) == 2
    states = [(s.version, s.state) for s in migrator(db, keyspace, directory).status()]
    assert states == [(1, "applied"), (2, "applied"), (3, "applied"), (4, "applied")]


def test_edited_applied_file_fails_naming_it(
    db: CassandraSession, keyspace: str, tmp_path: Path
) -> None:
    directory = write_migrations(tmp_path, NON_IDEMPOTENT)
    migrator(db, keyspace, directory).migrate()
    edited = directory / "V0002__count_a_run.cql"
    edited.write_text("UPDATE runs SET n = n + 5 WHERE id = 'migrations';")
    write_migrations(directory, {"V0004__more.cql": "CREATE TABLE more (id int PRIMARY KEY);"})

    with pytest.raises(MigrationChecksumError, match=r"V0002__count_a_run\.cql: changed after"):
        migrator(db, keyspace, directory).migrate()
    assert run_count(db, keyspace) == 1
    assert not table_exists(db, keyspace, "more")  # nothing after the check ran
    states = {s.version: s.state for s in migrator(db, keyspace, directory).status()}
    assert states == {1: "applied", 2: "changed", 3: "applied", 4: "pending"}

    # A removed file is not an error (an older replica may run with fewer files).
    edited.unlink()
    (directory / "V0004__more.cql").unlink()
    assert migrator(db, keyspace, directory).migrate().applied == []
    missing = migrator(db, keyspace, directory).status()[1]
    assert (missing.version, missing.state, missing.name) == (2, "missing file", None)


def test_failed_statement_keeps_earlier_migrations_and_frees_the_lock(
    db: CassandraSession, keyspace: str, tmp_path: Path
) -> None:
    directory = write_migrations(
        tmp_path,
        {
            "V0001__create_runs.cql": NON_IDEMPOTENT["V0001__create_runs.cql"],
            "V0002__broken.cql": "CREATE TABLE first (id int PRIMARY KEY);\n\n"
            "CREATE TABLE oops (id int PRIMARY KEY,;",
        },
    )
    with pytest.raises(MigrationError) as caught:
        migrator(db, keyspace, directory).migrate()
    message = str(caught.value)
    assert "V0002__broken.cql:3: statement 2 of 2 failed" in message
    assert "statements 1-1 of this file were applied" in message
    assert [v for v, _, _ in history(db, keyspace)] == [1]

    # Fixed (idempotently) and run again at once: the failed run released its lock.
    (directory / "V0002__broken.cql").write_text(
        "CREATE TABLE IF NOT EXISTS first (id int PRIMARY KEY);\n"
        "CREATE TABLE oops (id int PRIMARY KEY);"
    )
    report = migrator(db, keyspace, directory, lock_timeout=0.5).migrate()
    assert [a.version for a in report.applied] == [2]
    assert table_exists(db, keyspace, "oops")


def test_malformed_file_fails_before_anything_runs(
    db: CassandraSession, keyspace: str, tmp_path: Path
) -> None:
    directory = write_migrations(
        tmp_path,
        {
            "V0001__fine.cql": "CREATE TABLE fine (id int PRIMARY KEY);",
            "V0002__unterminated.cql": "INSERT INTO fine (id) VALUES (1);\nSELECT 'oops FROM fine;",
        },
    )
    with pytest.raises(
        MigrationFileError, match=r"V0002__unterminated\.cql:2: unterminated string"
    ):
        migrator(db, keyspace, directory).migrate()
    assert not keyspace_exists(db, keyspace)


def test_version_below_the_newest_applied_is_refused(
    db: CassandraSession, keyspace: str, tmp_path: Path
) -> None:
    directory = write_migrations(
        tmp_path,
        {
            "V0001__a.cql": "CREATE TABLE a (id int PRIMARY KEY);",
            "V0003__c.cql": "CREATE TABLE c (id int PRIMARY KEY);",
        },
    )
    migrator(db, keyspace, directory).migrate()
    write_migrations(directory, {"V0002__b.cql": "CREATE TABLE b (id int PRIMARY KEY);"})
    with pytest.raises(
        MigrationError, match=r"V0002__b\.cql: version 2 is not applied but version 3"
    ):
        migrator(db, keyspace, directory).migrate()
    assert not table_exists(db, keyspace, "b")


def test_keyspace_replication_comes_from_the_caller(
    db: CassandraSession, keyspace: str, tmp_path: Path, cassandra: Cassandra
) -> None:
    directory = write_migrations(tmp_path, {"V1__a.cql": "CREATE TABLE a (id int PRIMARY KEY);"})
    with pytest.raises(
        MigrationError, match=f"keyspace '{keyspace}' does not exist.*--replication"
    ):
        migrator(db, keyspace, directory, replication=None).migrate()
    with pytest.raises(CassandraConfigError, match="replication needs a 'class'"):
        migrator(db, keyspace, directory, replication={"replication_factor": 1})

    topology = {"class": "NetworkTopologyStrategy", cassandra.local_dc: 1}
    migrator(db, keyspace, directory, replication=topology).migrate()
    row = db.execute(
        SimpleStatement("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name=%s"),
        (keyspace,),
    ).one()
    assert row.replication == {
        "class": "org.apache.cassandra.locator.NetworkTopologyStrategy",
        cassandra.local_dc: "1",
    }
    # Existing keyspace: no replication needed any more.
    assert migrator(db, keyspace, directory, replication=None).migrate().already_applied == 1


def test_concurrent_migrators_apply_each_file_once(
    db: CassandraSession, keyspace: str, tmp_path: Path, cassandra: Cassandra
) -> None:
    directory = write_migrations(tmp_path, NON_IDEMPOTENT)
    replicas = 3
    start = threading.Barrier(replicas)
    reports: list[MigrationReport] = []
    errors: list[BaseException] = []

    def replica(number: int) -> None:
        # Each replica is its own process in production: its own Cluster here.
        with connect(cassandra) as own:
            start.wait(timeout=30)
            try:
                reports.append(
                    migrator(own, keyspace, directory, owner=f"replica-{number}").migrate()
                )
            except BaseException as exc:  # recorded for the assertion below
                errors.append(exc)

    threads = [threading.Thread(target=replica, args=(n,)) for n in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(reports) == replicas
    applied = Counter(a.version for report in reports for a in report.applied)
    assert applied == {1: 1, 2: 1, 3: 1}
    assert [v for v, _, _ in history(db, keyspace)] == [1, 2, 3]
    assert run_count(db, keyspace) == 1
