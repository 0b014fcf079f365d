"""`python -m productstore_common.cassandra migrate|status` as operators and Jobs run it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cassandra.query import SimpleStatement

from devstack import cassandra_auth
from devstack.components.cassandra import Cassandra
from productstore_common.cassandra import CassandraSession
from productstore_common.cassandra.cli import main
from tests.common.cassandra.support import SIMPLE_RF1, write_migrations

FILES = {
    "V0001__create_runs.cql": "CREATE TABLE runs (id text PRIMARY KEY, n counter);",
    "V0002__count_a_run.cql": "UPDATE runs SET n = n + 1 WHERE id = 'migrations';",
}


def connection_args(node: Cassandra) -> list[str]:
    return [
        "--contact-points",
        ",".join(node.contact_points),
        "--port",
        str(node.port),
        "--local-dc",
        node.local_dc,
        "--consistency",
        "ONE",
        "--username",
        node.username or "",
        "--password-file",
        str(cassandra_auth.superuser_password_file(node.paths)),
    ]


def command_env() -> dict[str, str]:
    """The environment minus any CASSANDRA_* a developer shell may export."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CASSANDRA_")}


@pytest.fixture(autouse=True)
def _no_cassandra_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CASSANDRA_"):
            monkeypatch.delenv(name)


def test_migrate_then_status(
    cassandra: Cassandra, keyspace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_migrations(tmp_path, FILES)
    base = ["--dir", str(directory), "--keyspace", keyspace, *connection_args(cassandra)]
    replication = ["--replication", json.dumps(SIMPLE_RF1)]

    assert main(["status", *base]) == 0
    assert capsys.readouterr().out.split() == [
        "pending",
        "V0001__create_runs.cql",
        "pending",
        "V0002__count_a_run.cql",
    ]

    assert main(["migrate", *base, *replication]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in out[:2]] == [
        "applied V0001__create_runs.cql",
        "applied V0002__count_a_run.cql",
    ]
    assert out[2] == f"keyspace {keyspace}: 2 applied, 0 already applied"

    assert main(["migrate", *base]) == 0  # the keyspace exists: no replication needed
    assert capsys.readouterr().out == f"keyspace {keyspace}: 0 applied, 2 already applied\n"

    assert main(["status", *base]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["applied", "V0001__create_runs.cql"],
        ["applied", "V0002__count_a_run.cql"],
    ]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["migrate", "--keyspace", "ks"], "the following arguments are required: --dir"),
        (["migrate", "--dir", "d", "--keyspace", "ks", "--replication", "{rf: 1}"], "not JSON"),
        (["migrate", "--dir", "d", "--keyspace", "ks", "--replication", "[1]"], "JSON object"),
        (["migrate", "--dir", "d", "--keyspace", "ks", "--lock-timeout", "-1"], "must be positive"),
        (["status", "--dir", "d", "--keyspace", "ks", "--port", "x"], "not a TCP port"),
        (["rollback"], "invalid choice: 'rollback'"),
    ],
)
def test_bad_flags_exit_2_with_one_line(
    args: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert error in err


def test_failures_exit_1_with_one_line(
    cassandra: Cassandra, keyspace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_migrations(tmp_path / "good", FILES)
    bad = write_migrations(tmp_path / "bad", {"V1__typo.cql": "CREATE TABLE t (id int PRIMARY KEY"})
    base = ["--keyspace", keyspace, *connection_args(cassandra)]
    replication = ["--replication", json.dumps(SIMPLE_RF1)]
    cases = [
        (["migrate", "--dir", str(good), *base], f"keyspace '{keyspace}' does not exist"),
        (["migrate", "--dir", str(tmp_path / "nowhere"), *base], "directory not found"),
        (["migrate", "--dir", str(bad), *base, *replication], "V1__typo.cql:1: statement 1 of 1"),
        (["migrate", "--dir", str(good), *base, "--consistency", "MOST"], "unknown consistency"),
        (["migrate", "--dir", str(good), *base, "--lock-ttl", "1"], "lock TTL must be at least"),
        (
            ["migrate", "--dir", str(good), "--keyspace", "bad-name", *connection_args(cassandra)],
            "not a valid keyspace name",
        ),
    ]
    for args, error in cases:
        assert main(args) == 1, args
        err = capsys.readouterr().err
        assert err.startswith("migrate: error: "), err
        assert err.count("\n") == 1, err
        assert error in err, err


def test_unreachable_cluster_exits_1_without_traceback(tmp_path: Path) -> None:
    directory = write_migrations(tmp_path, FILES)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    result = subprocess.run(
        [
            *(sys.executable, "-m", "productstore_common.cassandra", "migrate"),
            *("--dir", str(directory), "--keyspace", "ps_unreachable"),
            *("--port", str(port), "--connect-timeout", "1"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=command_env(),
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"migrate: error: cannot connect to Cassandra at 127.0.0.1:{port}"
    )
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_two_processes_at_once_apply_each_file_once(
    cassandra: Cassandra, db: CassandraSession, keyspace: str, tmp_path: Path
) -> None:
    directory = write_migrations(tmp_path, FILES)
    command = [sys.executable, "-m", "productstore_common.cassandra", "migrate"]
    command += ["--dir", str(directory), "--keyspace", keyspace, *connection_args(cassandra)]
    command += ["--replication", json.dumps(SIMPLE_RF1)]
    processes = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=command_env()
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    applied = sorted(
        line.split()[1]
        for out, _ in outputs
        for line in out.splitlines()
        if line.startswith("applied")
    )
    assert applied == sorted(FILES)
    count = db.execute(
        SimpleStatement("SELECT n FROM runs WHERE id = 'migrations'", keyspace=keyspace)
    )
    assert count.one().n == 1
