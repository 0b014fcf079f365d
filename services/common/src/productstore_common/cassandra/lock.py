"""The migration lock: one row taken with a lightweight transaction, held under a TTL.

``INSERT ... IF NOT EXISTS USING TTL`` takes it; a thread renews it while
migrations run; ``DELETE ... IF owner = ?`` releases it. When the holder dies
the row expires with its TTL, so a crashed replica blocks the others for at
most one TTL. Paxos (``serial_consistency``) orders competing migrators; SERIAL
by default because a schema lock must hold across data centres.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from cassandra import InvalidRequest, OperationTimedOut, ReadTimeout, Unavailable, WriteTimeout
from cassandra.query import SimpleStatement

from productstore_common.cassandra.exceptions import (
    CassandraConfigError,
    MigrationLockLostError,
    MigrationLockTimeoutError,
)
from productstore_common.cassandra.session import (
    CassandraSession,
    keyspace_name,
    serial_consistency_level,
)

log = logging.getLogger(__name__)

LOCK_TABLE = "schema_migrations_lock"
LOCK_NAME = "migrate"
# Renewal runs every TTL/3: below 3 s it would race the expiry on a busy node.
MIN_LOCK_TTL = 3


# Protocol v5's CAS_WRITE_UNKNOWN (Paxos lost to a competitor mid-round); driver
# 3.x has no class for it and raises a plain ErrorMessage carrying the code.
CAS_WRITE_UNKNOWN = 0x1700


def is_contention(exc: BaseException) -> bool:
    """Errors of a Paxos round that lost a race or timed out: retry, the outcome may be unknown."""
    transient = (WriteTimeout, ReadTimeout, Unavailable, OperationTimedOut)
    return isinstance(exc, transient) or getattr(exc, "code", None) == CAS_WRITE_UNKNOWN


def is_schema_lag(exc: BaseException) -> bool:
    """A node that has not applied a just-created bookkeeping table yet (schema
    propagates asynchronously; a Paxos round can reach such a replica): retry."""
    # Cassandra says "Table ... does not exist" and "Keyspace '...' doesn't exist".
    text = str(exc)
    return isinstance(exc, InvalidRequest) and ("does not exist" in text or "doesn't exist" in text)


def execute_lwt(
    db: CassandraSession, statement: SimpleStatement, params: Any, attempts: int = 6
) -> Any:
    """Run a conditional statement or SERIAL read, retrying contention with jittered backoff.

    Only for statements whose retry is safe once the caller checks the owner:
    every LWT of the migrator is.
    """
    for attempt in range(1, attempts + 1):
        try:
            return db.session.execute(statement, params)
        except Exception as exc:
            if attempt == attempts or not (is_contention(exc) or is_schema_lag(exc)):
                raise
            log.info("contended %s, retrying: %s", statement.query_string.split()[0], exc)
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))  # noqa: S311 - jitter
    raise AssertionError("unreachable")


def new_owner_id() -> str:
    """host:pid:random, so an error message tells an operator which pod holds the lock."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class LockHolder:
    owner: str
    acquired_at: datetime | None
    expires_in: int | None  # seconds left of the row's TTL


class MigrationLock:
    """Context manager: ``with MigrationLock(...) as lock: ...; lock.check()``."""

    def __init__(
        self,
        db: CassandraSession,
        keyspace: str,
        *,
        owner: str | None = None,
        ttl: int = 60,
        wait_timeout: float = 300.0,
        poll_interval: float = 1.0,
        serial_consistency: str = "SERIAL",
    ) -> None:
        if ttl < MIN_LOCK_TTL:
            raise CassandraConfigError(f"lock TTL must be at least {MIN_LOCK_TTL} s, got {ttl}")
        self.db = db
        self.keyspace = keyspace_name(keyspace)
        self.owner = owner or new_owner_id()
        self.ttl = ttl
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.waited_for: set[str] = set()  # owners we found holding the lock
        self._serial = serial_consistency_level(serial_consistency)
        self._stop = threading.Event()
        self._lost: str | None = None
        self._renewer: threading.Thread | None = None
        self._renewed_at = 0.0
        self._acquired_at = datetime.now(UTC)
        # Spliced into CQL: the keyspace is a validated identifier (keyspace_name).
        table = f"{self.keyspace}.{LOCK_TABLE}"
        self._insert = self._lwt(
            f"INSERT INTO {table} (name, owner, acquired_at) VALUES (%s, %s, %s) "  # noqa: S608 - table: a checked identifier
            "IF NOT EXISTS USING TTL %s"
        )
        # Every regular column is rewritten: the row lives while any cell does.
        self._renew = self._lwt(
            f"UPDATE {table} USING TTL %s SET owner = %s, acquired_at = %s "  # noqa: S608 - table: a checked identifier
            "WHERE name = %s IF owner = %s"
        )
        self._delete = self._lwt(f"DELETE FROM {table} WHERE name = %s IF owner = %s")  # noqa: S608 - ditto
        self._select = SimpleStatement(
            f"SELECT owner, acquired_at, TTL(owner) AS expires_in FROM {table} WHERE name = %s",  # noqa: S608 - ditto
            consistency_level=self._serial,
        )

    def _lwt(self, cql: str) -> SimpleStatement:
        return SimpleStatement(cql, serial_consistency_level=self._serial)

    # --- acquire / release --------------------------------------------------------

    def acquire(self) -> None:
        """Take the lock, polling while another owner holds it, up to ``wait_timeout``."""
        deadline = time.monotonic() + self.wait_timeout
        self._acquired_at = datetime.now(UTC)
        while True:
            holder = self._try_insert()
            if holder is None:
                break
            if holder:
                self.waited_for.add(holder)
            if time.monotonic() >= deadline:
                raise self._timeout_error()
            # Jitter: replicas that started together do not poll in lockstep.
            pause = self.poll_interval * random.uniform(0.5, 1.5)  # noqa: S311 - jitter
            time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
        self._renewed_at = time.monotonic()
        self._stop.clear()
        self._renewer = threading.Thread(
            target=self._renew_loop, name=f"migration-lock-{self.keyspace}", daemon=True
        )
        self._renewer.start()
        log.info("migration lock on %s taken by %s", self.keyspace, self.owner)

    def _try_insert(self) -> str | None:
        """None when we hold the lock now, else the holder's owner id ("" if unknown)."""
        try:
            row = execute_lwt(
                self.db, self._insert, (LOCK_NAME, self.owner, self._acquired_at, self.ttl)
            ).one()
        except Exception as exc:
            if not is_contention(exc):
                raise
            # The outcome is unknown; the next attempt reads it back (owner ==
            # us counts as taken).
            log.warning("migration lock attempt on %s failed, retrying: %s", self.keyspace, exc)
            return ""
        if row.applied or row.owner == self.owner:
            return None
        owner: str = row.owner
        return owner

    def _timeout_error(self) -> MigrationLockTimeoutError:
        try:
            holder = self.holder()
        except Exception as exc:  # the timeout is the error to report
            return MigrationLockTimeoutError(
                f"gave up after {self.wait_timeout:g} s waiting for the migration lock of "
                f"keyspace {self.keyspace!r}; its holder could not be read: {exc}"
            )
        if holder is None:
            detail = "it was just released: run again"
        else:
            since = holder.acquired_at.isoformat() if holder.acquired_at else "an unknown time"
            detail = (
                f"held by {holder.owner!r} since {since}, expires in {holder.expires_in} s "
                "unless renewed; if that process is dead the lock frees itself then"
            )
        return MigrationLockTimeoutError(
            f"gave up after {self.wait_timeout:g} s waiting for the migration lock of keyspace "
            f"{self.keyspace!r}: {detail}"
        )

    def holder(self) -> LockHolder | None:
        row = execute_lwt(self.db, self._select, (LOCK_NAME,)).one()
        if row is None:
            return None
        return LockHolder(row.owner, row.acquired_at, row.expires_in)

    def release(self) -> None:
        """Stop renewing and delete the row if it is still ours; never raises."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        try:
            execute_lwt(self.db, self._delete, (LOCK_NAME, self.owner))
        except Exception as exc:  # release runs in finally blocks
            log.warning(
                "could not release the migration lock of %s (it expires in at most %d s): %s",
                self.keyspace,
                self.ttl,
                exc,
            )

    # --- renewal ------------------------------------------------------------------

    def _renew_loop(self) -> None:
        # A third of the TTL: two renewals may fail before the row expires.
        interval = self.ttl / 3
        while not self._stop.wait(interval):
            try:
                row = execute_lwt(
                    self.db,
                    self._renew,
                    (self.ttl, self.owner, self._acquired_at, LOCK_NAME, self.owner),
                ).one()
            except Exception as exc:  # the thread must report, not die
                if time.monotonic() - self._renewed_at > self.ttl:
                    self._lost = f"could not renew it for {self.ttl} s: {exc}"
                    return
                log.warning("renewing the migration lock of %s failed: %s", self.keyspace, exc)
                continue
            if not row.applied:
                holder = getattr(row, "owner", None)
                self._lost = f"it expired and is now held by {holder!r}" if holder else "it expired"
                return
            self._renewed_at = time.monotonic()

    def check(self) -> None:
        """Raise when the lock was lost: stop before running another statement."""
        if self._lost is None and time.monotonic() - self._renewed_at > self.ttl:
            # The renewer may itself be stuck in a slow request.
            self._lost = f"not renewed for over {self.ttl} s"
        if self._lost is not None:
            raise MigrationLockLostError(
                f"lost the migration lock of keyspace {self.keyspace!r} ({self._lost}); "
                "stopped before the next statement: run migrate again"
            )

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def lock_table_cql(keyspace: str, table_id: uuid.UUID) -> str:
    # Short gc_grace: the one row is deleted on every run, and a resurrected
    # lock row would still carry its TTL, so early tombstone purge is harmless.
    return (
        f"CREATE TABLE IF NOT EXISTS {keyspace}.{LOCK_TABLE} "
        "(name text PRIMARY KEY, owner text, acquired_at timestamp) "
        f"WITH ID = {table_id} AND gc_grace_seconds = 3600"
    )
