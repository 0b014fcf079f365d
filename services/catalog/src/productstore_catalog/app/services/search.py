"""The replica's search index: loaded from Cassandra at start-up, updated by this
replica's writes at once and by every replica's writes through the events feed.

The replica also keeps every indexed product's public JSON document (the body of
`GET /api/products/{id}`), so a search page is built from memory, with no Redis or
Cassandra read: its items are the very versions the index matched, filtered and
ranked, and a write on this replica shows in its next search (the document is
replaced with the index). The documents follow the index's version rule.

The feed's handler does not trust the event's fields: it re-reads the product
and applies the row (or removes a product that is gone), so a replayed,
duplicated or reordered event applies the current state, and the index keeps
the largest version it has seen (stale applies are ignored by version).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable

from prometheus_client import Gauge, Histogram

from productstore_catalog.app.data.documents import product_json
from productstore_catalog.app.data.products import ProductRecord, ProductStore
from productstore_catalog.app.services.page_cache import PageCache
from productstore_catalog.search import (
    IndexedProduct,
    SearchIndex,
    SearchQuery,
    SearchResult,
)
from productstore_common.events import CloudEvent, EventPayload
from productstore_contracts.events.catalog import ProductDeleted

_logger = logging.getLogger(__name__)


def indexed(product: ProductRecord) -> IndexedProduct:
    return IndexedProduct(
        id=product.id,
        name=product.name,
        description=product.description,
        category=product.category,
        price=product.price,
        currency=product.currency,
        in_stock=product.in_stock,
        rating=product.rating_average,
        created_at=product.created_at,
        version=product.version,
    )


class ProductSearch:
    def __init__(
        self,
        index: SearchIndex,
        store: ProductStore,
        *,
        indexed_gauge: Gauge,
        duration: Histogram,
        pages: PageCache | None = None,
        on_page: Callable[[bool], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.index = index
        self.store = store
        # Rendered pages of the index as it is (emptied by every change below).
        self.pages = pages if pages is not None else PageCache(0)
        self._on_page = on_page or (lambda hit: None)
        self._gauge = indexed_gauge
        self._duration = duration
        self._clock = clock
        self._loaded = asyncio.Event()
        # product id -> (version, public JSON); versions of removed products stay in
        # _removed, so an older write arriving late is ignored, as the index does.
        self._documents: dict[uuid.UUID, tuple[int, bytes]] = {}
        self._removed: dict[uuid.UUID, int] = {}

    # --- readiness ------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._loaded.is_set()

    async def ready(self) -> bool:
        """Readiness: the start-up load has finished (searches would miss products before)."""
        return self._loaded.is_set()

    async def load(self) -> int:
        """Put every product of Cassandra in the index; the number loaded."""
        started = self._clock()
        products = await self.store.scan()
        for product in products:
            self._upsert(product)
        self._gauge.set(len(self.index))
        self._loaded.set()
        _logger.info(
            "search index loaded: %d products in %.2f s", len(products), self._clock() - started
        )
        return len(products)

    # --- changes --------------------------------------------------------------------

    def apply(self, product: ProductRecord) -> None:
        self._upsert(product)
        self._gauge.set(len(self.index))

    def remove(self, product_id: uuid.UUID, version: int) -> None:
        self.index.remove(product_id, version=version)
        self.pages.clear()
        held = self._documents.get(product_id)
        known = held[0] if held is not None else self._removed.get(product_id)
        if known is None or version >= known:
            self._documents.pop(product_id, None)
            self._removed[product_id] = version
        self._gauge.set(len(self.index))

    def _upsert(self, product: ProductRecord) -> None:
        # The index's rule: a version older than the one held (live or removed) is ignored.
        held = self._documents.get(product.id)
        known = held[0] if held is not None else self._removed.get(product.id)
        if known is not None and product.version < known:
            return
        self.index.upsert(indexed(product))
        self.pages.clear()
        self._documents[product.id] = (product.version, product_json(product))
        self._removed.pop(product.id, None)

    def document(self, product_id: uuid.UUID) -> bytes | None:
        """The public JSON of the indexed version of the product, if it is indexed."""
        held = self._documents.get(product_id)
        return held[1] if held is not None else None

    async def on_event(self, event: CloudEvent[EventPayload]) -> None:
        """The feed's handler: apply the product as Cassandra has it now."""
        product_id = getattr(event.data, "product_id", None)
        if not isinstance(product_id, uuid.UUID):
            return
        product = await self.store.get(product_id)
        if product is not None:
            self.apply(product)
        elif isinstance(event.data, ProductDeleted):
            self.remove(product_id, event.data.version)
        # Otherwise the product was deleted since this event: its ProductDeleted
        # event follows in the same partition and removes it.

    # --- queries --------------------------------------------------------------------

    def cached_page(self, key: bytes) -> bytes | None:
        """The page rendered for the raw query string `key` if the index has not
        changed since; a hit is counted, a miss is counted by `page` after."""
        page = self.pages.get(key)
        if page is not None:
            self._on_page(True)
        return page

    def page(
        self, key: bytes, query: SearchQuery, render: Callable[[SearchResult], bytes]
    ) -> bytes:
        """`render` of the query's result, kept under `key`, the raw query string
        `query` was parsed from: the same string is the same query, so a page found
        under it is the one this would render (the index has not changed since, or
        the page would be gone). Raises InvalidCursor for a bad cursor.

        Synchronous from lookup to store: no change of the index can come between."""
        page = self.pages.get(key)
        self._on_page(page is not None)
        if page is None:
            page = render(self.search(query))
            self.pages.put(key, page)
        return page

    def search(self, query: SearchQuery) -> SearchResult:
        """Raises InvalidCursor for a bad cursor."""
        started = self._clock()
        try:
            return self.index.search(query)
        finally:
            self._duration.observe(self._clock() - started)

    def __len__(self) -> int:
        return len(self.index)
