"""Cassandra access of carts: one partition per user, a row per product."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from productstore_common.cassandra import CassandraSession

# A cart holds at most this many products (one page is read).
MAX_CART_ITEMS = 100


@dataclass(frozen=True)
class CartItemRecord:
    product_id: uuid.UUID
    quantity: int
    added_price: Decimal
    added_currency: str
    added_in_stock: bool
    added_at: datetime


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class CartStore:
    def __init__(self, db: CassandraSession) -> None:
        self.db = db

    async def items(self, user_id: uuid.UUID) -> list[CartItemRecord]:
        page = await self.db.execute_async(
            "SELECT product_id, quantity, added_price, added_currency, added_in_stock, added_at "
            "FROM cart_items WHERE user_id = ? LIMIT ?",
            (user_id, MAX_CART_ITEMS + 1),
        )
        return [_item(row) for row in page.rows]

    async def item(self, user_id: uuid.UUID, product_id: uuid.UUID) -> CartItemRecord | None:
        page = await self.db.execute_async(
            "SELECT product_id, quantity, added_price, added_currency, added_in_stock, added_at "
            "FROM cart_items WHERE user_id = ? AND product_id = ?",
            (user_id, product_id),
        )
        row = page.one()
        return None if row is None else _item(row)

    async def put(self, user_id: uuid.UUID, item: CartItemRecord, now: datetime) -> None:
        await self.db.execute_async(
            "INSERT INTO cart_items (user_id, product_id, quantity, added_price, added_currency, "
            "added_in_stock, added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user_id,
                item.product_id,
                item.quantity,
                item.added_price,
                item.added_currency,
                item.added_in_stock,
                item.added_at,
                now,
            ),
        )

    async def remove(self, user_id: uuid.UUID, product_ids: Iterable[uuid.UUID]) -> None:
        for product_id in product_ids:
            await self.db.execute_async(
                "DELETE FROM cart_items WHERE user_id = ? AND product_id = ?",
                (user_id, product_id),
            )

    async def clear(self, user_id: uuid.UUID) -> None:
        await self.db.execute_async("DELETE FROM cart_items WHERE user_id = ?", (user_id,))


def _item(row: Any) -> CartItemRecord:
    return CartItemRecord(
        product_id=row.product_id,
        quantity=int(row.quantity),
        added_price=row.added_price,
        added_currency=row.added_currency,
        added_in_stock=bool(row.added_in_stock),
        added_at=_aware(row.added_at),
    )
