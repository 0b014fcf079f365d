"""The users tables: e-mail claims, including claims left behind by a crashed writer."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from productstore_auth.app.data.clock import now_ms
from productstore_auth.app.data.users import STALE_CLAIM, EmailTakenError, UserStore
from productstore_common.cassandra import CassandraSession
from tests.auth.support import unique_email

pytestmark = pytest.mark.anyio

DbAndKeyspace = tuple[CassandraSession, str]


async def _create(store: UserStore, email: str) -> uuid.UUID:
    user = await store.create(email=email, name="N", password_hash="h", roles=frozenset({"user"}))
    return user.id


async def _orphan_claim(db: CassandraSession, keyspace: str, email: str, age: timedelta) -> None:
    """A claim whose user row was never written (the registering process died)."""
    await db.execute_async(
        f"INSERT INTO {keyspace}.users_by_email (email, user_id, claimed_at) VALUES (?, ?, ?)",  # noqa: S608 - the test's keyspace
        (email, uuid.uuid4(), now_ms() - age),
    )


async def test_a_stale_orphan_claim_is_taken_over(migrated_db: DbAndKeyspace) -> None:
    db, keyspace = migrated_db
    store = UserStore(db, keyspace)
    email = unique_email()
    await _orphan_claim(db, keyspace, email, STALE_CLAIM + timedelta(seconds=5))
    assert await store.get_by_email(email) is None
    user_id = await _create(store, email)
    found = await store.get_by_email(email)
    assert found is not None
    assert found.id == user_id


async def test_a_recent_orphan_claim_is_respected(migrated_db: DbAndKeyspace) -> None:
    # Its writer may still be about to write the user row.
    db, keyspace = migrated_db
    store = UserStore(db, keyspace)
    email = unique_email()
    await _orphan_claim(db, keyspace, email, timedelta(seconds=5))
    with pytest.raises(EmailTakenError):
        await _create(store, email)


async def test_an_old_claim_with_its_user_is_never_taken_over(
    migrated_db: DbAndKeyspace,
) -> None:
    db, keyspace = migrated_db
    store = UserStore(db, keyspace)
    email = unique_email()
    owner = await _create(store, email)
    await db.execute_async(
        f"UPDATE {keyspace}.users_by_email SET claimed_at = ? WHERE email = ?",  # noqa: S608 - the test's keyspace
        (now_ms() - STALE_CLAIM * 10, email),
    )
    with pytest.raises(EmailTakenError):
        await _create(store, email)
    found = await store.get_by_email(email)
    assert found is not None
    assert found.id == owner


async def test_concurrent_takeovers_of_a_stale_claim_have_one_winner(
    migrated_db: DbAndKeyspace,
) -> None:
    db, keyspace = migrated_db
    store = UserStore(db, keyspace)
    email = unique_email()
    await _orphan_claim(db, keyspace, email, STALE_CLAIM * 2)
    results = await asyncio.gather(
        *(_create(store, email) for _ in range(3)), return_exceptions=True
    )
    winners = [result for result in results if isinstance(result, uuid.UUID)]
    assert len(winners) == 1, results
    assert all(isinstance(r, EmailTakenError) for r in results if r not in winners)
    found = await store.get_by_email(email)
    assert found is not None
    assert found.id == winners[0]
