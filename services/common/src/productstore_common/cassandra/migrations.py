"""Versioned CQL migrations, safe to run twice and from several replicas at once.

``Migrator(db, keyspace, directory).migrate()``:

1. reads and splits every file first (a malformed file fails before any change);
2. creates the keyspace if missing (replication given by the caller) and the
   bookkeeping tables ``schema_migrations`` and ``schema_migrations_lock``;
3. returns at once when nothing is pending (replicas restarting never queue
   on the lock);
4. otherwise takes the LWT lock, reads the history again, and runs each
   pending file statement by statement, awaiting schema agreement after each,
   then records it (version, description, sha256 checksum, applied_at).

An applied file whose checksum changed is an error naming the file: history
is never rewritten; a new version is. History rows share one partition so a
SERIAL read returns every applied version linearizably after the lock's Paxos
rounds.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cassandra import InvalidRequest, Unauthorized
from cassandra.query import SimpleStatement

from productstore_common.cassandra.exceptions import (
    CassandraConfigError,
    MigrationChecksumError,
    MigrationError,
)
from productstore_common.cassandra.lock import (
    LOCK_TABLE,
    MIN_LOCK_TTL,
    MigrationLock,
    execute_lwt,
    is_schema_lag,
    lock_table_cql,
)
from productstore_common.cassandra.scripts import MigrationScript, load_scripts
from productstore_common.cassandra.session import (
    CassandraSession,
    describe_unavailable,
    keyspace_name,
    serial_consistency_level,
)

log = logging.getLogger(__name__)

HISTORY_TABLE = "schema_migrations"
_HISTORY_PARTITION = "cql"
# Table ids derived from keyspace.table: replicas racing on CREATE TABLE IF NOT
# EXISTS then create the same table, not two conflicting schema versions.
_TABLE_ID_NAMESPACE = uuid.UUID("6f1f6a43-9b2e-4c55-8a3c-2f1d0c7e5b10")

_REPLICATION_KEY = re.compile(r"^[A-Za-z0-9_]+$")
_REPLICATION_VALUE = re.compile(r"^[A-Za-z0-9_.]+$")

# Values are checked at run time (str or int): a literal mixing both infers
# dict[str, object], and callers should not need an annotation for it.
Replication = Mapping[str, object]
State = Literal["applied", "pending", "changed", "missing file"]


@dataclass(frozen=True)
class HistoryRecord:
    version: int
    description: str
    checksum: str
    applied_at: datetime
    applied_by: str
    execution_ms: int


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    description: str
    name: str
    seconds: float


@dataclass(frozen=True)
class MigrationStatus:
    version: int
    description: str
    name: str | None  # None when the history names a file this directory lacks
    state: State
    applied_at: datetime | None


@dataclass
class MigrationReport:
    keyspace: str
    applied: list[AppliedMigration] = field(default_factory=list)
    already_applied: int = 0
    waited_for: set[str] = field(default_factory=set)  # lock owners we queued behind


def replication_cql(replication: Replication) -> str:
    """The CQL map literal of a replication map, validated (it is spliced into DDL)."""
    if "class" not in replication:
        raise CassandraConfigError(
            "replication needs a 'class', e.g. {'class': 'SimpleStrategy', "
            "'replication_factor': 1} or {'class': 'NetworkTopologyStrategy', 'dc1': 3}"
        )
    entries = []
    for key, value in replication.items():
        text = str(value)
        if (
            isinstance(value, bool)
            or not isinstance(value, str | int)
            or not _REPLICATION_KEY.match(key)
            or not _REPLICATION_VALUE.match(text)
        ):
            raise CassandraConfigError(f"invalid replication entry {key!r}: {value!r}")
        entries.append(f"'{key}': '{text}'")
    return "{" + ", ".join(entries) + "}"


def table_id(keyspace: str, table: str) -> uuid.UUID:
    return uuid.uuid5(_TABLE_ID_NAMESPACE, f"{keyspace}.{table}")


class Migrator:
    def __init__(
        self,
        db: CassandraSession,
        keyspace: str,
        directory: Path,
        *,
        replication: Replication | None = None,
        serial_consistency: str = "SERIAL",
        lock_ttl: int = 60,
        lock_timeout: float = 300.0,
        lock_poll_interval: float = 1.0,
        statement_timeout: float = 120.0,
        schema_agreement_timeout: float = 60.0,
        owner: str | None = None,
    ) -> None:
        if lock_ttl < MIN_LOCK_TTL:
            raise CassandraConfigError(
                f"lock TTL must be at least {MIN_LOCK_TTL} s, got {lock_ttl}"
            )
        self.db = db
        self.keyspace = keyspace_name(keyspace)
        self.directory = directory
        self.replication = replication_cql(replication) if replication is not None else None
        self.serial_consistency = serial_consistency
        self._serial = serial_consistency_level(serial_consistency)
        self.lock_ttl = lock_ttl
        self.lock_timeout = lock_timeout
        self.lock_poll_interval = lock_poll_interval
        self.statement_timeout = statement_timeout
        self.schema_agreement_timeout = schema_agreement_timeout
        self.owner = owner
        history = f"{self.keyspace}.{HISTORY_TABLE}"
        self._select_history = SimpleStatement(
            # The keyspace is a validated identifier (keyspace_name).
            f"SELECT version, description, checksum, applied_at, applied_by, execution_ms "  # noqa: S608 - history: a checked identifier
            f"FROM {history} WHERE scope = %s",
            consistency_level=self._serial,
        )
        self._record = SimpleStatement(
            f"INSERT INTO {history} (scope, version, description, checksum, applied_at, "  # noqa: S608 - ditto
            "applied_by, execution_ms) VALUES (%s, %s, %s, %s, %s, %s, %s) IF NOT EXISTS",
            serial_consistency_level=self._serial,
        )

    # --- public -------------------------------------------------------------------

    def migrate(
        self, on_applied: Callable[[AppliedMigration], None] | None = None
    ) -> MigrationReport:
        """Apply what is pending and report it.

        ``on_applied`` hears of each file as soon as it is recorded, so a caller
        shows progress even when a later file fails.
        """
        scripts = load_scripts(self.directory)
        self._ensure_keyspace()
        self._ensure_tables()
        self._await_tables_usable()
        report = MigrationReport(self.keyspace)
        if not self._pending(scripts, self._history()):
            report.already_applied = len(scripts)
            return report
        lock = MigrationLock(
            self.db,
            self.keyspace,
            owner=self.owner,
            ttl=self.lock_ttl,
            wait_timeout=self.lock_timeout,
            poll_interval=self.lock_poll_interval,
            serial_consistency=self.serial_consistency,
        )
        with lock:
            report.waited_for = lock.waited_for
            # Read again under the lock: whoever held it may have applied them.
            history = self._history()
            pending = self._pending(scripts, history)
            report.already_applied = len(scripts) - len(pending)
            for script in pending:
                seconds = self._apply(script, lock)
                applied = AppliedMigration(script.version, script.description, script.name, seconds)
                report.applied.append(applied)
                log.info("applied %s to %s in %.2f s", script.name, self.keyspace, seconds)
                if on_applied is not None:
                    on_applied(applied)
        return report

    def status(self) -> list[MigrationStatus]:
        """Every version, in order: applied, pending, changed or missing its file."""
        scripts = load_scripts(self.directory)
        history = self._history() if self._table_exists(HISTORY_TABLE) else {}
        states: dict[int, MigrationStatus] = {}
        for script in scripts:
            record = history.get(script.version)
            state: State = "pending"
            if record is not None:
                state = "applied" if record.checksum == script.checksum else "changed"
            states[script.version] = MigrationStatus(
                script.version,
                script.description,
                script.name,
                state,
                record.applied_at if record else None,
            )
        for version, record in history.items():
            if version not in states:
                states[version] = MigrationStatus(
                    version, record.description, None, "missing file", record.applied_at
                )
        return [states[version] for version in sorted(states)]

    # --- schema of the keyspace and bookkeeping tables ----------------------------

    # Always IF NOT EXISTS through the schema path, never "read system_schema,
    # then create": a replica racing us can make the row visible there before
    # the node's live schema has the table, and its next statement then fails.

    def _ensure_keyspace(self) -> None:
        if self.replication is None:
            if not self._keyspace_exists():
                raise MigrationError(
                    f"keyspace {self.keyspace!r} does not exist; give its replication to "
                    "create it (e.g. --replication "
                    """'{"class": "SimpleStrategy", "replication_factor": 1}')"""
                )
            return
        try:
            self._ddl(
                f"CREATE KEYSPACE IF NOT EXISTS {self.keyspace} "
                f"WITH replication = {self.replication}",
                what=f"creating keyspace {self.keyspace}",
            )
        except Unauthorized:
            # A service's own role is granted on its keyspace only, and CREATE
            # KEYSPACE, even IF NOT EXISTS, needs CREATE on all keyspaces
            # (productstore_contracts.cassandra_roles): whoever made the role made
            # the keyspace first, so an existing one is left alone.
            if not self._keyspace_exists():
                raise
            self._agree(f"finding keyspace {self.keyspace}")

    def _ensure_tables(self) -> None:
        self._ddl(
            f"CREATE TABLE IF NOT EXISTS {self.keyspace}.{HISTORY_TABLE} ("
            "scope text, version int, description text, checksum text, "
            "applied_at timestamp, applied_by text, execution_ms int, "
            "PRIMARY KEY (scope, version)) "
            f"WITH ID = {table_id(self.keyspace, HISTORY_TABLE)}",
            what=f"creating {self.keyspace}.{HISTORY_TABLE}",
        )
        self._ddl(
            lock_table_cql(self.keyspace, table_id(self.keyspace, LOCK_TABLE)),
            what=f"creating {self.keyspace}.{LOCK_TABLE}",
        )

    def _await_tables_usable(self) -> None:
        # Schema agreement compares versions, but a node that learnt of a racing
        # replica's keyspace from system_schema (the keyspace is left alone when
        # it exists) can still answer "table ... does not exist" for a moment, and
        # the lock's first compare-and-set failed that way on a 3-node cluster.
        # Read both tables until they answer, bounded by the agreement timeout.
        deadline = time.monotonic() + self.schema_agreement_timeout
        for table in (HISTORY_TABLE, LOCK_TABLE):
            cql = f"SELECT * FROM {self.keyspace}.{table} LIMIT 1"  # noqa: S608 - checked identifiers
            statement = SimpleStatement(cql)
            while True:
                try:
                    self.db.session.execute(statement, timeout=self.statement_timeout)
                    break
                except InvalidRequest as exc:
                    if not is_schema_lag(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    def _keyspace_exists(self) -> bool:
        row = self.db.session.execute(
            "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s",
            (self.keyspace,),
        ).one()
        return row is not None

    def _table_exists(self, table: str) -> bool:
        row = self.db.session.execute(
            "SELECT table_name FROM system_schema.tables "
            "WHERE keyspace_name = %s AND table_name = %s",
            (self.keyspace, table),
        ).one()
        return row is not None

    def _ddl(self, cql: str, *, what: str) -> None:
        # A coordinator that has not yet applied a racing replica's keyspace answers
        # "Keyspace ... doesn't exist" to CREATE TABLE IF NOT EXISTS (seen on the
        # 3-node cluster even after agreement): the statements are idempotent, so
        # they are tried again until the agreement timeout.
        deadline = time.monotonic() + self.schema_agreement_timeout
        while True:
            try:
                result = self.db.session.execute(
                    SimpleStatement(cql), timeout=self.statement_timeout
                )
                break
            except InvalidRequest as exc:
                if not is_schema_lag(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # Even after a no-op: IF NOT EXISTS answers "exists" from a node that
        # already has a racing replica's change; the next node may not yet.
        self._await_agreement(result, what, always=True)

    def _await_agreement(self, result: Any, what: str, *, always: bool = False) -> None:
        # The driver already waited up to max_schema_agreement_wait after a
        # schema change; wait longer here, as the next statement may need it.
        if result.response_future.is_schema_agreed and not always:
            return
        self._agree(what)

    def _agree(self, what: str) -> None:
        agreed = self.db.cluster.control_connection.wait_for_schema_agreement(
            wait_time=self.schema_agreement_timeout
        )
        if not agreed:
            raise MigrationError(
                f"{what}: the nodes did not agree on the schema within "
                f"{self.schema_agreement_timeout:g} s; check that every node is up, "
                "then run migrate again"
            )

    # --- history ------------------------------------------------------------------

    def _history(self) -> dict[int, HistoryRecord]:
        rows = execute_lwt(self.db, self._select_history, (_HISTORY_PARTITION,))
        return {
            row.version: HistoryRecord(
                row.version,
                row.description,
                row.checksum,
                row.applied_at,
                row.applied_by,
                row.execution_ms,
            )
            for row in rows
        }

    def _pending(
        self, scripts: list[MigrationScript], history: dict[int, HistoryRecord]
    ) -> list[MigrationScript]:
        """Scripts not yet applied; raises on an edited or out-of-order file."""
        for script in scripts:
            record = history.get(script.version)
            if record is not None and record.checksum != script.checksum:
                raise MigrationChecksumError(
                    f"{script.path}: changed after it was applied to keyspace "
                    f"{self.keyspace!r} on {record.applied_at:%Y-%m-%d %H:%M:%S} UTC "
                    f"(recorded sha256 {record.checksum[:12]}, file now {script.checksum[:12]}); "
                    "restore the file and put the change in a new migration"
                )
        pending = [script for script in scripts if script.version not in history]
        newest = max(history, default=0)
        late = [script for script in pending if script.version < newest]
        if late:
            raise MigrationError(
                f"{late[0].path}: version {late[0].version} is not applied but version "
                f"{newest} already is; renumber it above {newest}"
            )
        return pending

    def _apply(self, script: MigrationScript, lock: MigrationLock) -> float:
        started = time.monotonic()
        total = len(script.statements)
        for number, statement in enumerate(script.statements, start=1):
            lock.check()
            where = f"{script.path}:{statement.line}: statement {number} of {total}"
            try:
                result = self.db.session.execute(
                    # Per-query keyspace (protocol v5): unqualified names in the
                    # file resolve to this keyspace without mutating the session.
                    SimpleStatement(statement.text, keyspace=self.keyspace),
                    timeout=self.statement_timeout,
                )
            except Exception as exc:
                done = (
                    f"; statements 1-{number - 1} of this file were applied but the file is "
                    "not recorded: undo them or make them idempotent (IF NOT EXISTS) before "
                    "running again"
                    if number > 1
                    else ""
                )
                raise MigrationError(f"{where} failed: {describe_unavailable(exc)}{done}") from exc
            self._await_agreement(result, where)
        lock.check()
        seconds = time.monotonic() - started
        row = execute_lwt(
            self.db,
            self._record,
            (
                _HISTORY_PARTITION,
                script.version,
                script.description,
                script.checksum,
                datetime.now(UTC),
                lock.owner,
                round(seconds * 1000),
            ),
        ).one()
        # Not applied but ours: an earlier attempt inside execute_lwt did land.
        if not row.applied and (row.applied_by, row.checksum) != (lock.owner, script.checksum):
            raise MigrationError(
                f"{script.path}: applied, but {row.applied_by!r} recorded version "
                f"{script.version} meanwhile: the migration lock did not hold; check the "
                "schema by hand"
            )
        return seconds
