"""Products and categories: validation against the store, events, cache and index.

A product write is one logged batch (row + outbox events, see ProductStore);
after it commits, the cache gets the new version (or a tombstone) and this
replica's search index applies it, so the next read and the next search here
see the write. Other replicas' indexes follow through the events feed.

`in_stock` is inventory's once inventory has published a stock level for the
product (`product_stock`, see data.stock): `sync_stock` writes the product when
its `in_stock` differs from the newest level, as any product write (new version,
ProductUpdated, cache, index), and admins may no longer change it by hand. It
runs after every StockChanged and after every admin write of a product, and
compares levels rather than applying events, so whichever of two racing writers
commits last puts the newest level back.

`rating` (average, count) is the reviews service's: each review's newest state is
kept in `product_ratings` (see data.ratings) and `sync_rating` writes the product
when its rating differs from what its published reviews say, the same way.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from typing import Any

from productstore_catalog.app.core import errors
from productstore_catalog.app.core.currencies import minor_units_problem
from productstore_catalog.app.data.cache import ProductCache
from productstore_catalog.app.data.categories import CategoryRecord, CategoryStore
from productstore_catalog.app.data.clock import next_version, version_time
from productstore_catalog.app.data.documents import product_json
from productstore_catalog.app.data.products import ProductRecord, ProductStore
from productstore_catalog.app.data.ratings import RatingStore, ReviewState
from productstore_catalog.app.data.stock import StockRecord, StockStore
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

__all__ = ["Catalog", "CategoryRecord", "ProductRecord", "StockRecord", "product_json"]

_logger = logging.getLogger(__name__)

# Rounds of sync_stock before it leaves the product to the next stock event: each
# round that writes was raced by another writer of the product or its stock.
_SYNC_ROUNDS = 5

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


def _event(payload: EventPayload, product_id: uuid.UUID) -> CloudEvent[Any]:
    return new_event(payload, source=CATALOG_SOURCE, subject=str(product_id))


class Catalog:
    def __init__(
        self,
        products: ProductStore,
        categories: CategoryStore,
        cache: ProductCache,
        search: ProductSearch,
        stock: StockStore,
        *,
        ratings: RatingStore,
    ) -> None:
        self.products = products
        self.categories = categories
        self.cache = cache
        self.search = search
        self.stock = stock
        self.ratings = ratings

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
        # A stock level published before the product existed wins over the body's;
        # reviews of it may have come first too.
        product = await self.sync_stock(product.id) or product
        return await self.sync_rating(product.id) or product

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
        # The price rule applies to what would be stored: a price-only PATCH of a yen
        # product, or a currency-only one of a product priced 10.50, breaks it too.
        price = changes.get("price", current.price)
        currency = changes.get("currency", current.currency)
        if minor_units_problem(price, currency) is not None:
            raise errors.whole_price_required(currency, price, price_sent="price" in changes)
        changed = [
            name
            for name in _WRITABLE
            if name in changes and changes[name] != getattr(current, name)
        ]
        if not changed:
            return current
        if "category" in changed:
            await self._require_category(changes["category"])
        if "in_stock" in changed and await self.stock.get(product_id) is not None:
            raise errors.in_stock_from_inventory(product_id, current.in_stock)
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
        # A stock level or rating that arrived while this PATCH was on its way: take it now.
        updated = await self.sync_stock(product_id) or updated
        return await self.sync_rating(product_id) or updated

    # --- stock from inventory ---------------------------------------------------------

    async def record_stock(self, stock: StockRecord) -> ProductRecord | None:
        """Keep a stock level inventory published (unless a newer one is held) and
        bring the product's `in_stock` to the newest level; the product if written."""
        await self.stock.record(stock)
        return await self.sync_stock(stock.product_id)

    async def sync_stock(self, product_id: uuid.UUID) -> ProductRecord | None:
        """Write the product if its `in_stock` is not the newest stock level's; the
        product written, or None (no product, no level, or nothing to change)."""
        written = None
        for _ in range(_SYNC_ROUNDS):
            stock = await self.stock.get(product_id)
            current = await self.products.get(product_id)
            if stock is None or current is None or current.in_stock == stock.in_stock:
                return written
            version = next_version(current.version)
            written = replace(
                current,
                in_stock=stock.in_stock,
                version=version,
                updated_at=version_time(version),
            )
            event = ProductUpdated(
                product_id=product_id,
                version=version,
                name=written.name,
                category=written.category,
                price=written.price,
                currency=written.currency,
                in_stock=written.in_stock,
                changed=["in_stock"],
            )
            await self.products.save(written, [_event(event, product_id)])
            await self._written(written)
            # The next round reads both again: a writer that raced this one (an admin
            # edit from the older row, a newer level) is caught up with.
        _logger.warning(
            "product %s: in_stock still differs from its stock level after %d writes; "
            "the next stock event or product write brings it back",
            product_id,
            _SYNC_ROUNDS,
        )
        return written

    # --- ratings from reviews -----------------------------------------------------------

    async def record_review(self, state: ReviewState) -> ProductRecord | None:
        """Keep a review's state (unless a newer one is held) and bring the product's
        rating to its published reviews; the product if written."""
        await self.ratings.record(state)
        return await self.sync_rating(state.product_id)

    async def sync_rating(self, product_id: uuid.UUID) -> ProductRecord | None:
        """Write the product if its rating is not its published reviews'; the product
        written, or None (no product, or nothing to change)."""
        written = None
        for _ in range(_SYNC_ROUNDS):
            rating = await self.ratings.rating(product_id)
            current = await self.products.get(product_id)
            if current is None or (current.rating_average, current.rating_count) == (
                rating.average,
                rating.count,
            ):
                return written
            version = next_version(current.version)
            written = replace(
                current,
                rating_average=rating.average,
                rating_count=rating.count,
                version=version,
                updated_at=version_time(version),
            )
            event = ProductUpdated(
                product_id=product_id,
                version=version,
                name=written.name,
                category=written.category,
                price=written.price,
                currency=written.currency,
                in_stock=written.in_stock,
                changed=["rating"],
            )
            await self.products.save(written, [_event(event, product_id)])
            await self._written(written)
        _logger.warning(
            "product %s: rating still differs from its reviews after %d writes; the next "
            "review event or product write brings it back",
            product_id,
            _SYNC_ROUNDS,
        )
        return written

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
