"""Searches without results in devstack's Redis: texts normalised in both languages,
one sorted set per UTC day that expires, trimmed to its most frequent texts under a
flood of distinct ones, and added up over days."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from productstore_catalog.app.data.no_results import (
    MAX_QUERY_LENGTH,
    NoResultLog,
    normalize_query,
)

pytestmark = pytest.mark.anyio

DAY = dt.date(2026, 3, 1)


@pytest.mark.parametrize(
    ("typed", "recorded"),
    [
        ("Red  Trail\tShoes", "red trail shoes"),
        ("  КРАСНЫЕ   Кроссовки \n", "красные кроссовки"),
        ("Ёлка ИГРУШКИ", "ёлка игрушки"),  # case-folded, letters kept as typed
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower()
        ("\uff26\uff55\uff4c\uff4c", "full"),  # NFKC: fullwidth letters
        ("zero\u200bwidth\u202ebidi\x00nul", "zero width bidi nul"),
        ("   \t\u200b ", ""),
        ("x" * 200, "x" * MAX_QUERY_LENGTH),
        ("a" * (MAX_QUERY_LENGTH - 1) + " tail", "a" * (MAX_QUERY_LENGTH - 1)),  # no end space
    ],
)
def test_texts_are_recorded_normalised(typed: str, recorded: str) -> None:
    assert normalize_query(typed) == recorded
    assert normalize_query(recorded) == recorded  # recording twice changes nothing


@pytest.fixture
async def log(redis_client: redis.Redis) -> AsyncIterator[NoResultLog]:
    prefix = f"catalog-test-{uuid.uuid4().hex[:12]}"
    try:
        yield NoResultLog(redis_client, prefix=prefix, kept=20, retention_days=3)
    finally:
        keys = [key async for key in redis_client.scan_iter(f"{prefix}:*")]
        if keys:
            await redis_client.delete(*keys)


async def test_a_day_is_a_sorted_set_that_expires_after_the_retention(
    log: NoResultLog, redis_client: redis.Redis
) -> None:
    await log.add({"red shoes": 2, "кот": 1}, DAY)
    await log.add({"red shoes": 1}, DAY)
    assert await redis_client.zrange(log.key(DAY), 0, -1, withscores=True) == [
        ("кот".encode(), 1.0),
        (b"red shoes", 3.0),
    ]
    assert 2 * 86400 < await redis_client.ttl(log.key(DAY)) <= 3 * 86400
    assert log.key(DAY).endswith(":search:no-results:2026-03-01")


async def test_a_flood_of_distinct_texts_keeps_the_day_bounded_and_the_frequent_ones(
    log: NoResultLog, redis_client: redis.Redis
) -> None:
    await log.add({"popular": 5, "second": 3}, DAY)
    for batch in range(10):
        await log.add({f"once {batch} {n}": 1 for n in range(100)}, DAY)
    assert await redis_client.zcard(log.key(DAY)) == log.kept
    top = await log.top(days=1, limit=3, today=DAY)
    assert top[:2] == [("popular", 5), ("second", 3)]
    assert top[2][1] == 1


async def test_the_top_adds_days_up_to_today_and_leaves_older_ones(log: NoResultLog) -> None:
    yesterday, long_ago = DAY - dt.timedelta(days=1), DAY - dt.timedelta(days=2)
    await log.add({"a": 1, "b": 4}, DAY)
    await log.add({"a": 5, "c": 2}, yesterday)
    await log.add({"c": 100}, long_ago)
    await log.add({"later": 100}, DAY + dt.timedelta(days=1))
    assert await log.top(days=1, limit=10, today=DAY) == [("b", 4), ("a", 1)]
    assert await log.top(days=2, limit=10, today=DAY) == [("a", 6), ("b", 4), ("c", 2)]
    assert await log.top(days=3, limit=2, today=DAY) == [("c", 102), ("a", 6)]
    # Ties by text, so the order is stable between reads.
    await log.add({"tie z": 6, "tie m": 6}, DAY)
    assert await log.top(days=2, limit=3, today=DAY) == [("a", 6), ("tie m", 6), ("tie z", 6)]


async def test_nothing_recorded_is_an_empty_top(log: NoResultLog) -> None:
    await log.add({}, DAY)
    assert await log.top(days=3, limit=10, today=DAY) == []
