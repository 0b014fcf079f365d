"""Cassandra access for every service: one session per process and versioned CQL migrations."""

from productstore_common.cassandra.aio import Page
from productstore_common.cassandra.exceptions import (
    CassandraConfigError,
    CassandraError,
    CassandraUnavailableError,
    MigrationChecksumError,
    MigrationError,
    MigrationFileError,
    MigrationLockLostError,
    MigrationLockTimeoutError,
)
from productstore_common.cassandra.migrations import MigrationReport, MigrationStatus, Migrator
from productstore_common.cassandra.session import (
    CassandraSession,
    consistency_level,
    serial_consistency_level,
)

__all__ = [
    "CassandraConfigError",
    "CassandraError",
    "CassandraSession",
    "CassandraUnavailableError",
    "MigrationChecksumError",
    "MigrationError",
    "MigrationFileError",
    "MigrationLockLostError",
    "MigrationLockTimeoutError",
    "MigrationReport",
    "MigrationStatus",
    "Migrator",
    "Page",
    "consistency_level",
    "serial_consistency_level",
]
