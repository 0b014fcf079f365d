"""Helpers shared by the Cassandra tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cassandra.query import SimpleStatement

from devstack.components.cassandra import Cassandra
from productstore_common.cassandra import CassandraSession

SIMPLE_RF1: dict[str, str | int] = {"class": "SimpleStrategy", "replication_factor": 1}


def connect(node: Cassandra, **kwargs: Any) -> CassandraSession:
    """A session on devstack's node; ONE, as services use a single local node."""
    params: dict[str, Any] = {
        "contact_points": node.contact_points,
        "port": node.port,
        "local_dc": node.local_dc,
        # devstack's superuser: tests make and drop keyspaces of their own.
        "username": node.username,
        "password": node.password,
        "consistency": "ONE",
        **kwargs,
    }
    return CassandraSession.connect(**params)


def write_migrations(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def keyspace_exists(db: CassandraSession, keyspace: str) -> bool:
    query = SimpleStatement(
        "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name=%s"
    )
    return db.execute(query, (keyspace,)).one() is not None


def table_exists(db: CassandraSession, keyspace: str, table: str) -> bool:
    query = SimpleStatement(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name=%s AND table_name=%s"
    )
    return db.execute(query, (keyspace, table)).one() is not None
