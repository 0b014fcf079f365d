"""The cassandra.yaml devstack writes: Paxos v2 for the lightweight transactions, under
a name the running Cassandra knows (a misspelt key would stop the node at its next start)."""

from __future__ import annotations

from pathlib import Path

import yaml

from devstack.components.cassandra import UNFLUSHED_SCHEMA, Cassandra, _write_node_config
from productstore_common.cassandra import CassandraSession


def _written(tmp_path: Path) -> dict[str, object]:
    _write_node_config(
        tmp_path,
        cluster_name="probe",
        address="127.0.0.1",
        authentication=True,
        seeds="127.0.0.1",
        cql_port=19999,
        storage_port=19998,
    )
    settings: dict[str, object] = yaml.safe_load((tmp_path / "conf" / "cassandra.yaml").read_text())
    return settings


def _session(cassandra: Cassandra) -> CassandraSession:
    return CassandraSession.connect(
        contact_points=cassandra.contact_points,
        port=cassandra.port,
        local_dc=cassandra.local_dc,
        username=cassandra.username,
        password=cassandra.password,
        consistency="ONE",
    )


def test_the_node_config_asks_for_paxos_v2(tmp_path: Path) -> None:
    assert _written(tmp_path)["paxos_variant"] == "v2"


def test_the_running_node_knows_the_setting(cassandra: Cassandra, tmp_path: Path) -> None:
    with _session(cassandra) as db:
        names = {
            row.name
            for row in db.execute("SELECT name FROM system_views.settings")
            if row.name is not None
        }
    # Every key devstack writes is one of the node's settings (read-only: the shared
    # node is not restarted; the value it runs with shows under the same name).
    assert set(_written(tmp_path)) - names <= {"seed_provider"}, set(_written(tmp_path)) - names


def test_the_running_node_keeps_schema_changes_in_the_commit_log(cassandra: Cassandra) -> None:
    """devstack's node does not flush each schema change (the suite makes hundreds);
    its `down` drains it with SIGTERM and waits long enough for the drain."""
    with _session(cassandra) as db:
        row = db.execute(
            "SELECT value FROM system_views.system_properties WHERE name = ?",
            (UNFLUSHED_SCHEMA.removeprefix("-D").split("=")[0],),
        ).one()
    value = None if row is None else row.value
    assert value == "false", f"the node runs without {UNFLUSHED_SCHEMA}: restart it"
    assert cassandra.stop_timeout >= 120
