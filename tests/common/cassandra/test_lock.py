"""The migration lock: LWT ownership, waiting with a clear error, renewal, stale-lock takeover."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from cassandra import InvalidRequest, WriteTimeout, WriteType
from cassandra.protocol import ErrorMessage
from cassandra.query import SimpleStatement

from productstore_common.cassandra import (
    CassandraSession,
    MigrationLockLostError,
    MigrationLockTimeoutError,
)
from productstore_common.cassandra.lock import (
    LOCK_NAME,
    LOCK_TABLE,
    MigrationLock,
    is_contention,
    lock_table_cql,
    new_owner_id,
)
from productstore_common.cassandra.migrations import table_id


@pytest.fixture(scope="module")
def lock_keyspace(db: CassandraSession) -> Iterator[str]:
    """One keyspace with the lock table for the whole module; each test leaves it unlocked."""
    keyspace = f"ps_{uuid.uuid4().hex[:16]}"
    db.execute(
        SimpleStatement(
            f"CREATE KEYSPACE {keyspace} WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
    )
    try:
        db.execute(SimpleStatement(lock_table_cql(keyspace, table_id(keyspace, LOCK_TABLE))))
        yield keyspace
    finally:
        db.execute(SimpleStatement(f"DROP KEYSPACE IF EXISTS {keyspace}"), timeout=60)


DELETE_LOCK = "DELETE FROM schema_migrations_lock WHERE name = %s"


def plant_lock(db: CassandraSession, keyspace: str, owner: str, ttl: int) -> None:
    """A lock row as a replica that then died would have left it."""
    db.execute(
        SimpleStatement(
            "INSERT INTO schema_migrations_lock (name, owner, acquired_at) "
            "VALUES (%s, %s, toTimestamp(now())) USING TTL %s",
            keyspace=keyspace,
        ),
        (LOCK_NAME, owner, ttl),
    )


def test_contention_is_told_from_real_errors() -> None:
    # 0x1700: Paxos lost to a competitor; the driver has no class for it.
    assert is_contention(ErrorMessage(0x1700, "CAS operation result is unknown", None))
    assert is_contention(WriteTimeout("timed out", write_type=WriteType.CAS))
    assert not is_contention(InvalidRequest("unconfigured table schema_migrations_lock"))
    assert not is_contention(ErrorMessage(0x2000, "syntax error", None))


def test_owner_ids_name_the_process() -> None:
    owner = new_owner_id()
    host, pid, _ = owner.split(":")
    assert host and pid.isdigit()
    assert new_owner_id() != owner


def test_waiter_times_out_naming_the_owner(db: CassandraSession, lock_keyspace: str) -> None:
    with MigrationLock(db, lock_keyspace, owner="replica-a", ttl=30):
        waiter = MigrationLock(
            db, lock_keyspace, owner="replica-b", wait_timeout=0.6, poll_interval=0.2
        )
        started = time.monotonic()
        with pytest.raises(MigrationLockTimeoutError) as caught:
            waiter.acquire()
        assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "held by 'replica-a'" in message
    assert lock_keyspace in message
    assert "expires in" in message
    assert waiter.waited_for == {"replica-a"}
    # Released on exit: the next one takes it at once.
    with MigrationLock(db, lock_keyspace, owner="replica-b", wait_timeout=0.1) as lock:
        holder = lock.holder()
        assert holder is not None
        assert holder.owner == "replica-b"
    assert lock.holder() is None


def test_stale_lock_is_taken_over_after_its_ttl(db: CassandraSession, lock_keyspace: str) -> None:
    plant_lock(db, lock_keyspace, "dead-replica:4242", ttl=3)
    lock = MigrationLock(db, lock_keyspace, owner="survivor", wait_timeout=15, poll_interval=0.3)
    started = time.monotonic()
    with lock:
        waited = time.monotonic() - started
        holder = lock.holder()
        assert holder is not None
        assert holder.owner == "survivor"
    assert lock.waited_for == {"dead-replica:4242"}
    assert 1.0 < waited < 10  # it did wait for the TTL, and not much longer


def test_renewal_keeps_a_long_holder_and_detects_loss(
    db: CassandraSession, lock_keyspace: str
) -> None:
    lock = MigrationLock(db, lock_keyspace, owner="long-runner", ttl=3)
    lock.acquire()
    try:
        time.sleep(4.5)  # past the TTL: only renewals keep the row
        lock.check()
        holder = lock.holder()
        assert holder is not None
        assert holder.owner == "long-runner"
        with pytest.raises(MigrationLockTimeoutError, match="held by 'long-runner'"):
            MigrationLock(db, lock_keyspace, owner="other", wait_timeout=0.2).acquire()

        # Someone else owns it now (as if our renewals had stalled past the TTL).
        db.execute(
            SimpleStatement(DELETE_LOCK, keyspace=lock_keyspace),
            (LOCK_NAME,),
        )
        plant_lock(db, lock_keyspace, "usurper", ttl=30)
        deadline = time.monotonic() + 5
        with pytest.raises(MigrationLockLostError, match="held by 'usurper'"):
            while time.monotonic() < deadline:
                lock.check()
                time.sleep(0.1)
    finally:
        lock.release()
    # Release never deletes another owner's row.
    holder = lock.holder()
    assert holder is not None
    assert holder.owner == "usurper"
    db.execute(SimpleStatement(DELETE_LOCK, keyspace=lock_keyspace), (LOCK_NAME,))
