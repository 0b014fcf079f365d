"""The catalog's read model: products by id, product listings and search pages,
as the JSON bodies the API sends.

The one object behind every public read: the routes call it, and so does the
middleware that answers cached reads before the router (api/cached_reads), so
a cache read is made and counted once whichever of them answers. The bodies are
encoded by data.documents, the one module that knows a product's JSON.

A search page belongs to a `generation` of the index (ProductSearch: one more
every change), so whoever keeps rendered pages (the API's page cache, keyed by
what it received) knows when they went stale without this layer knowing how
they were asked for.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable

from productstore_catalog.app.core import errors
from productstore_catalog.app.data.cache import CacheRead, ProductCache
from productstore_catalog.app.data.documents import (
    product_json,
    products_page_json,
    search_page_json,
)
from productstore_catalog.app.data.products import ProductStore
from productstore_catalog.app.services.search import ProductSearch
from productstore_catalog.search import SearchQuery

__all__ = ["CacheRead", "CatalogReads", "decode_cursor", "encode_cursor"]


def encode_cursor(after: uuid.UUID, category: str | None) -> str:
    raw = json.dumps({"after": str(after), "category": category}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, category: str | None) -> uuid.UUID:
    """The product id a listing continues after; 400 for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        after = uuid.UUID(str(values["after"]))
        cursor_category = values["category"]
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeError):
        raise errors.invalid_cursor(
            "The cursor is not one this API issued; pass `next_cursor` of the previous page "
            "unchanged."
        ) from None
    if cursor_category != category:
        raise errors.invalid_cursor(
            "The cursor belongs to a listing with another `category`; keep the filters of "
            "the first page."
        )
    return after


class CatalogReads:
    def __init__(
        self,
        products: ProductStore,
        cache: ProductCache,
        search: ProductSearch,
        *,
        on_cache: Callable[[str], None] = lambda outcome: None,
    ) -> None:
        self.products = products
        self.cache = cache
        self.search = search
        self._on_cache = on_cache

    # --- products by id -------------------------------------------------------------

    async def cached_product_document(self, product_id: uuid.UUID) -> CacheRead:
        """The cache's answer for the product: (outcome, version, public JSON or None).
        A hit is counted here; pass anything else on to `product_document` as
        `cached`, which counts it and goes on without reading the cache again."""
        read = await self.cache.get_document(product_id)
        if read[2] is not None:
            self._on_cache(read[0])
        return read

    async def product_document(
        self, product_id: uuid.UUID, cached: CacheRead | None = None
    ) -> tuple[int, bytes]:
        """The product's version and public JSON, through the cache (`cached`: its
        answer, already read): a hit is served without decoding, a miss reads
        Cassandra and fills the cache (by version). 404 for a missing product."""
        read = cached if cached is not None else await self.cache.get_document(product_id)
        outcome, version, document = read
        self._on_cache(outcome)
        if document is not None:
            return version, document
        if outcome == "tombstone":
            raise errors.product_not_found(product_id)
        product = await self.products.get(product_id)
        if product is None:
            raise errors.product_not_found(product_id)
        document = product_json(product)
        if outcome == "miss":
            await self.cache.put(product, document)
        return product.version, document

    # --- listings -------------------------------------------------------------------

    async def products_page(self, *, category: str | None, limit: int, cursor: str | None) -> bytes:
        """A ProductsPage's JSON, in storage order; 400 for a cursor this API did not issue."""
        after = decode_cursor(cursor, category) if cursor is not None else None
        if category is None:
            items = await self.products.page(limit=limit, after=after)
        else:
            items = await self.products.page_in_category(category, limit=limit, after=after)
        next_cursor = encode_cursor(items[-1].id, category) if len(items) == limit else None
        return products_page_json(items, next_cursor)

    # --- search ---------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """The index's generation: a page rendered on an older one may be wrong now."""
        return self.search.generation

    def search_page(self, query: SearchQuery) -> tuple[int, bytes, int]:
        """The generation of the index searched, the SearchPage JSON of `query`'s
        result and its total matches. Raises InvalidCursor for a bad cursor.

        Synchronous: the index cannot change between the search and its generation."""
        generation = self.search.generation
        result = self.search.search(query)
        items = [
            (document, hit.score)
            for hit in result.hits
            # Always there: the index and the documents change together.
            if (document := self.search.document(hit.id)) is not None
        ]
        page = search_page_json(
            items, total=result.total, facets=result.facets, next_cursor=result.next_cursor
        )
        return generation, page, result.total
