"""Errors of the Cassandra layer: each message says what failed and what to do about it."""

from __future__ import annotations


class CassandraError(Exception):
    """Base of every error raised by productstore_common.cassandra."""


class CassandraConfigError(CassandraError, ValueError):
    """A connection or migration parameter is invalid (bad consistency name, keyspace, ...)."""


class CassandraUnavailableError(CassandraError):
    """No node could be reached, or the cluster stopped answering."""


class MigrationError(CassandraError):
    """A migration could not be applied; the message names the file."""


class MigrationFileError(MigrationError):
    """A migration file is malformed (name, encoding, unterminated literal, ...)."""


class MigrationChecksumError(MigrationError):
    """An already applied migration file was edited afterwards."""


class MigrationLockTimeoutError(MigrationError):
    """Another migrator held the lock for longer than we were willing to wait."""


class MigrationLockLostError(MigrationError):
    """Our lock expired or was taken over while migrations were running."""
