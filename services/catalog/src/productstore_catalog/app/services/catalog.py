"""Products and categories: validation against the store, events, cache and index.

A product write is one logged batch (row + outbox events, see ProductStore);
after it commits, the cache gets the new version (or a tombstone) and this
replica's search index applies it, so the next read and the next search here
see the write. Other replicas' indexes follow through the events feed.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from productstore_catalog.app.core import errors
from productstore_catalog.app.core.currencies import ZERO_DECIMAL_CODES
from productstore_catalog.app.data.cache import CacheRead, ProductCache
from productstore_catalog.app.data.categories import CategoryRecord, CategoryStore
from productstore_catalog.app.data.clock import next_version, version_time
from productstore_catalog.app.data.documents import product_json
from productstore_catalog.app.data.products import ProductRecord, ProductStore
from productstore_catalog.app.models import (
    CategoryCreate,
    CategoryUpdate,
    ProductCreate,
    ProductUpdate,
)
from productstore_catalog.app.services.search import ProductSearch
from productstore_common.events import CloudEvent, EventPayload, new_event
from productstore_contracts.events.catalog import (
    CATALOG_SOURCE,
    PriceChanged,
    ProductCreated,
    ProductDeleted,
    ProductUpdated,
)

__all__ = ["CacheRead", "Catalog", "CategoryRecord", "ProductRecord"]

# Fields a PATCH may change, in the order events list them.
_WRITABLE = (
    "name",
    "description",
    "category",
    "price",
    "currency",
    "attributes",
    "image_urls",
    "in_stock",
)
MAX_CURSOR_LENGTH = 512


def _event(payload: EventPayload, product_id: uuid.UUID) -> CloudEvent[Any]:
    return new_event(payload, source=CATALOG_SOURCE, subject=str(product_id))


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


class Catalog:
    def __init__(
        self,
        products: ProductStore,
        categories: CategoryStore,
        cache: ProductCache,
        search: ProductSearch,
        *,
        on_cache: Callable[[str], None] = lambda outcome: None,
    ) -> None:
        self.products = products
        self.categories = categories
        self.cache = cache
        self.search = search
        self._on_cache = on_cache

    # --- categories -----------------------------------------------------------------

    async def create_category(self, body: CategoryCreate) -> CategoryRecord:
        created = await self.categories.create(body.slug, body.name, body.description)
        if created is None:
            raise errors.category_exists(body.slug)
        return created

    async def get_category(self, slug: str) -> CategoryRecord:
        category = await self.categories.get(slug)
        if category is None:
            raise errors.category_not_found(slug)
        return category

    async def list_categories(self) -> list[CategoryRecord]:
        return await self.categories.all()

    async def update_category(self, slug: str, body: CategoryUpdate) -> CategoryRecord:
        current = await self.get_category(slug)
        updated = await self.categories.update(
            slug,
            body.name if body.name is not None else current.name,
            body.description if body.description is not None else current.description,
        )
        if updated is None:
            raise errors.category_not_found(slug)
        return updated

    async def delete_category(self, slug: str) -> None:
        await self.get_category(slug)
        # Not atomic with a concurrent product create in this category (Cassandra has
        # no cross-partition transaction); such a product keeps its slug and the
        # category can be created again.
        if await self.products.category_has_products(slug):
            raise errors.category_in_use(slug)
        if not await self.categories.delete(slug):
            raise errors.category_not_found(slug)

    # --- product reads --------------------------------------------------------------

    async def cached_product_document(self, product_id: uuid.UUID) -> CacheRead:
        """The cache's answer for the product: (outcome, version, public JSON or None).
        A hit is counted here; pass anything else on to `get_product_document` as
        `cached`, which counts it and goes on without reading the cache again."""
        read = await self.cache.get_document(product_id)
        if read[2] is not None:
            self._on_cache(read[0])
        return read

    async def get_product_document(
        self, product_id: uuid.UUID, cached: CacheRead | None = None
    ) -> tuple[int, bytes]:
        """The product's version and public JSON, through the cache (`cached`: its
        answer, already read): a hit is served without decoding, a miss reads
        Cassandra and fills the cache (by version)."""
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

    async def list_products(
        self, *, category: str | None, limit: int, cursor: str | None
    ) -> tuple[list[ProductRecord], str | None]:
        after = decode_cursor(cursor, category) if cursor is not None else None
        if category is None:
            items = await self.products.page(limit=limit, after=after)
        else:
            items = await self.products.page_in_category(category, limit=limit, after=after)
        next_cursor = encode_cursor(items[-1].id, category) if len(items) == limit else None
        return items, next_cursor

    # --- product writes -------------------------------------------------------------

    async def create_product(self, body: ProductCreate) -> ProductRecord:
        await self._require_category(body.category)
        version = next_version()
        at = version_time(version)
        product = ProductRecord(
            id=uuid.uuid4(),
            name=body.name,
            description=body.description,
            category=body.category,
            price=body.price,
            currency=body.currency,
            in_stock=body.in_stock,
            version=version,
            created_at=at,
            updated_at=at,
            attributes=dict(body.attributes),
            image_urls=[str(url) for url in body.image_urls],
        )
        created = ProductCreated(
            product_id=product.id,
            version=version,
            name=product.name,
            category=product.category,
            price=product.price,
            currency=product.currency,
            in_stock=product.in_stock,
        )
        await self.products.save(product, [_event(created, product.id)])
        await self._written(product)
        return product

    async def update_product(
        self, product_id: uuid.UUID, body: ProductUpdate, *, if_match: int | None = None
    ) -> ProductRecord:
        current = await self._current(product_id, if_match)
        changes: dict[str, Any] = {
            name: getattr(body, name)
            for name in _WRITABLE
            if name in body.model_fields_set and getattr(body, name) is not None
        }
        if "image_urls" in changes:
            changes["image_urls"] = [str(url) for url in changes["image_urls"]]
        # A price keeps its number across a currency change, within the new currency's
        # minor units.
        currency = changes.get("currency")
        if "price" not in changes and currency in ZERO_DECIMAL_CODES and current.price % 1:
            raise errors.whole_price_required(changes["currency"], current.price)
        changed = [
            name
            for name in _WRITABLE
            if name in changes and changes[name] != getattr(current, name)
        ]
        if not changed:
            return current
        if "category" in changed:
            await self._require_category(changes["category"])
        version = next_version(current.version)
        updated = replace(
            current,
            **{name: changes[name] for name in changed},
            version=version,
            updated_at=version_time(version),
        )
        events = [
            _event(
                ProductUpdated(
                    product_id=product_id,
                    version=version,
                    name=updated.name,
                    category=updated.category,
                    price=updated.price,
                    currency=updated.currency,
                    in_stock=updated.in_stock,
                    changed=changed,
                ),
                product_id,
            )
        ]
        if "price" in changed or "currency" in changed:
            events.append(
                _event(
                    PriceChanged(
                        product_id=product_id,
                        version=version,
                        old_price=current.price,
                        new_price=updated.price,
                        currency=updated.currency,
                        old_currency=current.currency if "currency" in changed else None,
                    ),
                    product_id,
                )
            )
        await self.products.save(updated, events, previous_category=current.category)
        await self._written(updated)
        return updated

    async def delete_product(self, product_id: uuid.UUID, *, if_match: int | None = None) -> None:
        current = await self._current(product_id, if_match)
        version = next_version(current.version)
        deleted = ProductDeleted(product_id=product_id, version=version)
        await self.products.delete(current, version, [_event(deleted, product_id)])
        if not await self.cache.tombstone(product_id, version):
            await self.cache.forget(product_id)
        self.search.remove(product_id, version)

    async def _current(self, product_id: uuid.UUID, if_match: int | None) -> ProductRecord:
        # Cassandra, not the cache: a write starts from the row it replaces.
        current = await self.products.get(product_id)
        if current is None:
            raise errors.product_not_found(product_id)
        if if_match is not None and if_match != current.version:
            raise errors.version_mismatch(product_id, current.version)
        return current

    async def _require_category(self, slug: str) -> None:
        if await self.categories.get(slug) is None:
            raise errors.unknown_category(slug)

    async def _written(self, product: ProductRecord) -> None:
        if not await self.cache.put(product):
            # Refused (a newer version is there) is fine; a failed put must not leave
            # the old value: drop it (and if Redis is down, the TTL ends it).
            await self.cache.forget(product.id)
        self.search.apply(product)
