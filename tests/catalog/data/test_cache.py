"""The product cache against the real Redis: versions decide, tombstones keep stale
fills out, and a broken Redis is a miss, not an error."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import redis.asyncio as redis

from devstack.components.redis import Redis
from productstore_catalog.app.data.cache import ProductCache
from productstore_catalog.app.data.documents import product_json
from productstore_catalog.app.data.products import ProductRecord
from productstore_common.redis_reader import RedisReader

pytestmark = pytest.mark.anyio


@pytest.fixture
async def reader(redis_server: Redis) -> AsyncIterator[RedisReader]:
    reads = RedisReader(redis_server.env()["REDIS_URL"])
    try:
        yield reads
    finally:
        await reads.aclose()


@pytest.fixture
def cache(redis_client: redis.Redis, reader: RedisReader) -> ProductCache:
    return ProductCache(
        redis_client,
        reader,
        prefix=f"catalog-test-{uuid.uuid4().hex[:12]}",
        ttl_seconds=60,
        tombstone_seconds=60,
    )


def _product(version: int, name: str = "Boot") -> ProductRecord:
    at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    return ProductRecord(
        id=uuid.UUID(int=7),
        name=name,
        description="",
        category="shoes",
        price=Decimal("12.30"),
        currency="EUR",
        in_stock=True,
        version=version,
        created_at=at,
        updated_at=at,
        attributes={"size": "42"},
        image_urls=["https://img.example.com/a.jpg"],
        rating_average=4.5,
        rating_count=2,
    )


async def test_round_trip(cache: ProductCache) -> None:
    product = _product(10)
    assert await cache.get(product.id) == ("miss", None)
    assert await cache.put(product)
    assert await cache.get(product.id) == ("hit", product)
    assert await cache.get_many([product.id, uuid.uuid4()]) == {product.id: product}


async def test_a_hit_is_the_public_document_as_stored(cache: ProductCache) -> None:
    product = _product(11)
    assert await cache.get_document(product.id) == ("miss", 0, None)
    assert await cache.put(product)
    assert await cache.get_document(product.id) == ("hit", 11, product_json(product))
    assert await cache.tombstone(product.id, 12)
    assert await cache.get_document(product.id) == ("tombstone", 12, None)


@pytest.mark.parametrize(
    "value",
    [
        # The format before documents (the record's fields), and anything unknown.
        '10|{"id":"00000000-0000-0000-0000-000000000007","name":"Boot"}',
        "10|d2|{}",
        "garbage",
    ],
)
async def test_entries_of_another_format_are_misses(
    cache: ProductCache, redis_client: redis.Redis, value: str
) -> None:
    product = _product(10)
    await redis_client.set(cache.key(product.id), value, ex=60)
    assert await cache.get(product.id) == ("miss", None)
    assert await cache.get_many([product.id]) == {}
    assert await cache.get_document(product.id) == ("miss", 0, None)


async def test_an_older_version_never_replaces_a_newer_one(cache: ProductCache) -> None:
    new = _product(20, name="New")
    assert await cache.put(new)
    # A reader that read the row before the write fills the cache after it.
    assert not await cache.put(replace(new, version=19, name="Old"))
    assert await cache.get(new.id) == ("hit", new)
    newer = replace(new, version=21, name="Newer")
    assert await cache.put(newer)
    assert await cache.get(new.id) == ("hit", newer)


async def test_a_tombstone_keeps_stale_fills_out(cache: ProductCache) -> None:
    product = _product(30)
    await cache.put(product)
    assert await cache.tombstone(product.id, 31)
    assert await cache.get(product.id) == ("tombstone", None)
    assert not await cache.put(product)  # read before the delete, filled after it
    assert await cache.get(product.id) == ("tombstone", None)
    assert await cache.get_many([product.id]) == {}


async def test_entries_expire(cache: ProductCache, redis_client: redis.Redis) -> None:
    product = _product(40)
    await cache.put(product)
    ttl = await redis_client.ttl(cache.key(product.id))
    assert 0 < ttl <= 60


async def test_redis_down_is_a_miss() -> None:
    # Nothing listens on port 1 of loopback: every call fails at once.
    broken = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    broken_reads = RedisReader("redis://127.0.0.1:1/0")
    try:
        cache = ProductCache(broken, broken_reads, prefix="x", ttl_seconds=60, tombstone_seconds=60)
        product = _product(1)
        assert await cache.get(product.id) == ("error", None)
        assert await cache.get_many([product.id]) == {}
        assert not await cache.put(product)
        assert not await cache.tombstone(product.id, 2)
        await cache.forget(product.id)  # logged, not raised
    finally:
        await broken.aclose()
        await broken_reads.aclose()
