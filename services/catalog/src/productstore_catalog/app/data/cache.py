"""The product read cache in Redis: `<prefix>:product:<id>` -> `<version>|d1|<document>`.

The document is the product's public JSON (data.documents), so a hit is served
as it is, without decoding; `d1` marks the format, so entries of another format
(a service version before or after this one, during a rollout) read as misses.

Values are only ever replaced by a larger version (a Lua compare-and-set), and a
delete leaves a tombstone with the delete's version. So a reader that read the
row from Cassandra before a write, and fills the cache after the writer
updated it, cannot put the old version back: the fill is refused. A write
updates the cache itself after its batch committed (write-through), so the very
next read on any replica sees it. The TTL bounds the one window left: a write
whose cache update failed (Redis down) leaves the old value for at most the TTL.
Redis errors never fail a request: reads fall back to Cassandra.

Reads (GET, MGET) go through a `RedisReader`, pipelined on one connection: the
read path is the service's hottest, and redis.asyncio costs several times the
rest of a cached read. Writes (the Lua compare-and-set, DEL) use redis.asyncio.
"""

from __future__ import annotations

import logging
import uuid
from typing import Literal

import redis.asyncio as redis
from redis.exceptions import RedisError

from productstore_catalog.app.data.documents import product_from_json, product_json
from productstore_catalog.app.data.products import ProductRecord
from productstore_common.redis_reader import RedisReader, RedisReadError

_logger = logging.getLogger(__name__)

# KEYS[1] key; ARGV version, payload, ttl seconds. 1 if stored, 0 if a version at
# least as new is there.
_SET_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local held = tonumber(string.match(current, '^(%d+)|'))
  if held and held >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""

_TOMBSTONE = b"-"
_DOCUMENT = b"d1|"

CacheOutcome = Literal["hit", "tombstone", "miss", "error"]
# A cache read: (outcome, version, the document if a hit).
CacheRead = tuple[CacheOutcome, int, bytes | None]


def _parse(value: bytes | str) -> tuple[CacheOutcome, int, bytes | None]:
    """An entry as (outcome, version, document); other formats are misses."""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    head, _, payload = raw.partition(b"|")
    if not head.isdigit():
        return "miss", 0, None
    if payload == _TOMBSTONE:
        return "tombstone", int(head), None
    if payload.startswith(_DOCUMENT):
        return "hit", int(head), payload[len(_DOCUMENT) :]
    return "miss", 0, None


class ProductCache:
    def __init__(
        self,
        client: redis.Redis,
        reader: RedisReader,
        *,
        prefix: str,
        ttl_seconds: int,
        tombstone_seconds: int,
    ) -> None:
        self._client = client
        self._reader = reader
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._tombstone_ttl = tombstone_seconds
        self._set_if_newer = client.register_script(_SET_IF_NEWER)

    def key(self, product_id: uuid.UUID) -> str:
        return f"{self._prefix}:product:{product_id}"

    async def get_document(self, product_id: uuid.UUID) -> CacheRead:
        """("hit", version, public JSON), ("tombstone", version, None) for a product
        deleted lately, ("miss", 0, None), or ("error", 0, None) when Redis failed
        (read Cassandra)."""
        try:
            value = await self._reader.get(self.key(product_id))
        except RedisReadError as exc:
            _logger.warning("product cache read failed: %s", exc)
            return "error", 0, None
        if value is None:
            return "miss", 0, None
        return _parse(value)

    async def get(self, product_id: uuid.UUID) -> tuple[CacheOutcome, ProductRecord | None]:
        """As get_document, with the document decoded."""
        outcome, _, document = await self.get_document(product_id)
        if document is None:
            return outcome, None
        try:
            return "hit", product_from_json(document)
        except (ValueError, KeyError, TypeError):
            _logger.warning("unreadable product cache entry %s", self.key(product_id))
            return "miss", None

    async def get_many(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, ProductRecord]:
        """The cached products among `ids` (tombstones and misses left out)."""
        if not ids:
            return {}
        try:
            values = await self._reader.mget([self.key(product_id) for product_id in ids])
        except RedisReadError as exc:
            _logger.warning("product cache read failed: %s", exc)
            return {}
        found: dict[uuid.UUID, ProductRecord] = {}
        for product_id, value in zip(ids, values, strict=True):
            document = _parse(value)[2] if value is not None else None
            if document is not None:
                try:
                    found[product_id] = product_from_json(document)
                except (ValueError, KeyError, TypeError):
                    continue
        return found

    async def put(self, product: ProductRecord, document: bytes | None = None) -> bool:
        """Store `product` (its public JSON, `document` if already encoded) unless a newer
        version is cached; False also when Redis failed."""
        payload = _DOCUMENT + (document if document is not None else product_json(product))
        return await self._store(product.id, product.version, payload, self._ttl)

    async def tombstone(self, product_id: uuid.UUID, version: int) -> bool:
        """Mark the product deleted at `version`, so stale fills are refused."""
        return await self._store(product_id, version, _TOMBSTONE, self._tombstone_ttl)

    async def forget(self, product_id: uuid.UUID) -> None:
        """Drop the entry (the fallback when a write could not update it)."""
        try:
            await self._client.delete(self.key(product_id))
        except RedisError as exc:
            _logger.warning(
                "product cache entry %s may be stale for up to %d s: %s",
                self.key(product_id),
                self._ttl,
                exc,
            )

    async def _store(self, product_id: uuid.UUID, version: int, payload: bytes, ttl: int) -> bool:
        try:
            stored = await self._set_if_newer(
                keys=[self.key(product_id)], args=[version, payload, ttl]
            )
        except RedisError as exc:
            _logger.warning("product cache write failed: %s", exc)
            return False
        return bool(stored)
