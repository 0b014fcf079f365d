"""Product reads through the Redis cache, seen from the API: read-through fills it, a
write is visible to the very next read, a delete is a 404 at once."""

from __future__ import annotations

import httpx
import pytest
import redis.asyncio as redis

from productstore_catalog.app.core.config import CatalogSettings
from tests.catalog.support import Tokens, bearer, create_category, create_product

pytestmark = pytest.mark.anyio


async def _get(client: redis.Redis, key: str) -> str | None:
    value = await client.get(key)
    return value.decode() if isinstance(value, bytes) else value


def _key(settings: CatalogSettings, product_id: str) -> str:
    return f"{settings.redis_key_prefix}:product:{product_id}"


async def test_a_read_fills_the_cache(
    client: httpx.AsyncClient,
    tokens: Tokens,
    settings: CatalogSettings,
    redis_client: redis.Redis,
) -> None:
    product = await create_product(
        client, tokens.admin, await create_category(client, tokens.admin)
    )
    key = _key(settings, product["id"])
    await redis_client.delete(key)  # the write put it there; start from a miss
    assert (await client.get(f"/api/products/{product['id']}")).status_code == 200
    cached = await _get(redis_client, key)
    assert cached is not None
    assert cached.startswith(f"{product['version']}|")


async def test_the_cache_answers_reads(
    client: httpx.AsyncClient,
    tokens: Tokens,
    settings: CatalogSettings,
    redis_client: redis.Redis,
) -> None:
    """Proof that reads come from Redis: an entry changed behind the service's back is
    what the API returns (a version newer than the row)."""
    product = await create_product(
        client, tokens.admin, await create_category(client, tokens.admin)
    )
    key = _key(settings, product["id"])
    cached = await _get(redis_client, key)
    assert cached is not None
    version, _, payload = cached.partition("|")
    planted = payload.replace('"name":"Trail runner"', '"name":"From Redis"')
    await redis_client.set(key, f"{int(version) + 1}|{planted}", ex=60)
    got = await client.get(f"/api/products/{product['id']}")
    assert got.json()["name"] == "From Redis"


async def test_a_write_is_visible_to_the_next_read(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    product = await create_product(
        client, tokens.admin, await create_category(client, tokens.admin)
    )
    url = f"/api/products/{product['id']}"
    assert (await client.get(url)).json()["price"] == "89.90"  # cached now
    for price in ("10.00", "11.00", "12.00"):
        patched = await client.patch(url, json={"price": price}, headers=bearer(tokens.admin))
        assert patched.status_code == 200
        got = await client.get(url)
        assert got.json()["price"] == price
        assert got.headers["etag"] == patched.headers["etag"]


async def test_a_delete_is_a_404_on_the_next_read(
    client: httpx.AsyncClient,
    tokens: Tokens,
    settings: CatalogSettings,
    redis_client: redis.Redis,
) -> None:
    product = await create_product(
        client, tokens.admin, await create_category(client, tokens.admin)
    )
    url = f"/api/products/{product['id']}"
    assert (await client.get(url)).status_code == 200  # cached
    assert (await client.delete(url, headers=bearer(tokens.admin))).status_code == 204
    assert (await client.get(url)).status_code == 404
    tombstone = await _get(redis_client, _key(settings, product["id"]))
    assert tombstone is not None
    assert tombstone.endswith("|-")
