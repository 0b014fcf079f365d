"""Delivered purchases in Cassandra: which (user, product) pairs an order delivered."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import datetime

from productstore_common.cassandra import CassandraSession

_RECORD = (
    "INSERT INTO delivered_purchases (user_id, product_id, order_id, delivered_at) "
    "VALUES (?, ?, ?, ?)"
)
_ANY = "SELECT order_id FROM delivered_purchases WHERE user_id = ? AND product_id = ? LIMIT 1"


class PurchaseStore:
    def __init__(self, db: CassandraSession) -> None:
        self.db = db

    async def record(
        self,
        user_id: uuid.UUID,
        order_id: uuid.UUID,
        products: Iterable[uuid.UUID],
        delivered_at: datetime,
    ) -> None:
        """One row per product (upserts: recording an order twice changes nothing)."""
        await asyncio.gather(
            *(
                self.db.execute_async(_RECORD, (user_id, product, order_id, delivered_at))
                for product in set(products)
            )
        )

    async def delivered(self, user_id: uuid.UUID, product_id: uuid.UUID) -> bool:
        page = await self.db.execute_async(_ANY, (user_id, product_id))
        return page.one() is not None
