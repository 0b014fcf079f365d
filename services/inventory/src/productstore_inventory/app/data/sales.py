"""Cassandra access to units sold per product and day (`daily_sales`), the history the
reorder forecasts read. One row per (product, day, order): writing an order's sale
again writes the same rows, so redelivered or repeated commits never count twice."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date

from productstore_common.cassandra import CassandraSession


class SalesStore:
    def __init__(self, db: CassandraSession) -> None:
        self.db = db

    async def record(self, order_id: uuid.UUID, day: date, lines: Mapping[uuid.UUID, int]) -> None:
        for product_id, quantity in sorted(lines.items(), key=lambda item: str(item[0])):
            await self.db.execute_async(
                "INSERT INTO daily_sales (product_id, day, order_id, quantity) VALUES (?, ?, ?, ?)",
                (product_id, day, order_id, quantity),
            )

    async def forget(self, order_id: uuid.UUID, day: date, products: Iterable[uuid.UUID]) -> None:
        """A paid order was restocked: its units were not sold after all."""
        for product_id in sorted(products, key=str):
            await self.db.execute_async(
                "DELETE FROM daily_sales WHERE product_id = ? AND day = ? AND order_id = ?",
                (product_id, day, order_id),
            )

    async def daily(self, product_id: uuid.UUID, first: date, last: date) -> dict[date, int]:
        """Units sold per day from `first` to `last` (both included); days without a
        sale are absent."""
        rows = await self.db.execute_all(
            "SELECT day, quantity FROM daily_sales WHERE product_id = ? AND day >= ? AND day <= ?",
            (product_id, first, last),
            fetch_size=5000,
        )
        sold: dict[date, int] = {}
        for row in rows:
            # The driver's cassandra.util.Date; .date() is the datetime.date.
            day = row.day.date() if hasattr(row.day, "date") else row.day
            sold[day] = sold.get(day, 0) + int(row.quantity)
        return sold
