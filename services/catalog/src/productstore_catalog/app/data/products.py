"""Products in Cassandra: `products` by id and `products_by_category`, written with
their events in one logged batch through the outbox.

Every write carries `USING TIMESTAMP <version>` (see clock), so concurrent
writes of one product resolve in Cassandra the way the cache and the search
index resolve them: the larger version wins.
"""

# ruff: noqa: S608 - CQL names only constant columns and tables; values are always bound

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from cassandra.query import BoundStatement

from productstore_catalog.app.data.clock import as_utc
from productstore_common.cassandra import CassandraSession
from productstore_common.events import CloudEvent, Outbox

_COLUMNS = (
    "id, name, description, category, price, currency, attributes, image_urls, in_stock, "
    "rating_average, rating_count, version, created_at, updated_at"
)
_INSERT = (
    f"INSERT INTO products ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "USING TIMESTAMP ?"
)
_INSERT_BY_CATEGORY = (
    "INSERT INTO products_by_category (category, product_id) VALUES (?, ?) USING TIMESTAMP ?"
)
_DELETE = "DELETE FROM products USING TIMESTAMP ? WHERE id = ?"
_DELETE_BY_CATEGORY = (
    "DELETE FROM products_by_category USING TIMESTAMP ? WHERE category = ? AND product_id = ?"
)
# Full scans (the search index at start-up) read big pages.
SCAN_FETCH_SIZE = 1000


@dataclass(frozen=True)
class ProductRecord:
    id: uuid.UUID
    name: str
    description: str
    category: str
    price: Decimal
    currency: str
    in_stock: bool
    version: int
    created_at: datetime
    updated_at: datetime
    attributes: dict[str, str] = field(default_factory=dict)
    image_urls: list[str] = field(default_factory=list)
    rating_average: float | None = None
    rating_count: int = 0


def product_from_row(row: Any) -> ProductRecord:
    return ProductRecord(
        id=row.id,
        name=row.name,
        description=row.description or "",
        category=row.category,
        price=row.price,
        currency=row.currency,
        in_stock=bool(row.in_stock),
        version=row.version,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        attributes=dict(row.attributes or {}),
        image_urls=list(row.image_urls or ()),
        rating_average=row.rating_average,
        rating_count=row.rating_count or 0,
    )


class ProductStore:
    """Reads and writes of products; the session's keyspace is the service's."""

    def __init__(self, db: CassandraSession, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    async def get(self, product_id: uuid.UUID) -> ProductRecord | None:
        page = await self.db.execute_async(
            f"SELECT {_COLUMNS} FROM products WHERE id = ?", (product_id,)
        )
        row = page.one()
        return product_from_row(row) if row is not None else None

    async def get_many(self, ids: Sequence[uuid.UUID]) -> list[ProductRecord]:
        """The products of `ids` that exist, in the order of `ids` (one read each, concurrently)."""
        found = await asyncio.gather(*(self.get(product_id) for product_id in ids))
        return [product for product in found if product is not None]

    async def page(self, *, limit: int, after: uuid.UUID | None) -> list[ProductRecord]:
        """Up to `limit` products in token order after the product `after`.

        Paged by key, never with the driver's paging state: a client could send a
        forged one, which Cassandra answers with a protocol error that drops the
        connection.
        """
        if after is None:
            page = await self.db.execute_async(f"SELECT {_COLUMNS} FROM products LIMIT ?", (limit,))
        else:
            page = await self.db.execute_async(
                f"SELECT {_COLUMNS} FROM products WHERE token(id) > token(?) LIMIT ?",
                (after, limit),
            )
        return [product_from_row(row) for row in page.rows]

    async def page_in_category(
        self, category: str, *, limit: int, after: uuid.UUID | None
    ) -> list[ProductRecord]:
        """Up to `limit` products of `category` in id order after the product `after`."""
        if after is None:
            page = await self.db.execute_async(
                "SELECT product_id FROM products_by_category WHERE category = ? LIMIT ?",
                (category, limit),
            )
        else:
            page = await self.db.execute_async(
                "SELECT product_id FROM products_by_category WHERE category = ? "
                "AND product_id > ? LIMIT ?",
                (category, after, limit),
            )
        products = await self.get_many([row.product_id for row in page.rows])
        # A product moved out of the category since its index row was read: skip it.
        return [product for product in products if product.category == category]

    async def scan(self) -> list[ProductRecord]:
        """Every product (the search index's start-up load)."""
        rows = await self.db.execute_all(
            f"SELECT {_COLUMNS} FROM products", fetch_size=SCAN_FETCH_SIZE
        )
        return [product_from_row(row) for row in rows]

    async def category_has_products(self, category: str) -> bool:
        page = await self.db.execute_async(
            "SELECT product_id FROM products_by_category WHERE category = ? LIMIT 1", (category,)
        )
        return page.one() is not None

    # --- writes (each one logged batch with its events) ------------------------------

    async def save(
        self,
        product: ProductRecord,
        events: Sequence[CloudEvent[Any]],
        *,
        previous_category: str | None = None,
    ) -> None:
        """Write the whole row (create or replace) with `events`; when the category
        changed, move the product's index row too."""
        statements = [
            await self._bind(
                _INSERT,
                (
                    product.id,
                    product.name,
                    product.description,
                    product.category,
                    product.price,
                    product.currency,
                    product.attributes,
                    product.image_urls,
                    product.in_stock,
                    product.rating_average,
                    product.rating_count,
                    product.version,
                    product.created_at,
                    product.updated_at,
                    product.version,
                ),
            ),
            await self._bind(_INSERT_BY_CATEGORY, (product.category, product.id, product.version)),
        ]
        if previous_category is not None and previous_category != product.category:
            statements.append(
                await self._bind(
                    _DELETE_BY_CATEGORY, (product.version, previous_category, product.id)
                )
            )
        await self.outbox.write(statements, events)

    async def delete(
        self, product: ProductRecord, version: int, events: Sequence[CloudEvent[Any]]
    ) -> None:
        statements = [
            await self._bind(_DELETE, (version, product.id)),
            await self._bind(_DELETE_BY_CATEGORY, (version, product.category, product.id)),
        ]
        await self.outbox.write(statements, events)

    async def _bind(self, cql: str, values: tuple[Any, ...]) -> BoundStatement:
        prepared = await self.db.prepare_async(cql)
        return prepared.bind(values)
