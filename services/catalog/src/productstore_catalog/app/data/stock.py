"""What inventory last said about each product's stock (`product_stock`).

A StockChanged is written `USING TIMESTAMP <its stock version>`: Cassandra's
last-write-wins then keeps the newest version per product whatever order the
events arrive in, redelivered or replayed, with no read before the write and no
lightweight transaction. The row is kept whether or not the catalog has the
product, so a product created after its stock event still finds it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from productstore_common.cassandra import CassandraSession

_RECORD = (
    "INSERT INTO product_stock (product_id, in_stock, available, stock_version) "
    "VALUES (?, ?, ?, ?) USING TIMESTAMP ?"
)
_READ = "SELECT in_stock, available, stock_version FROM product_stock WHERE product_id = ?"


@dataclass(frozen=True)
class StockRecord:
    product_id: uuid.UUID
    in_stock: bool
    available: int
    version: int


class StockStore:
    def __init__(self, db: CassandraSession) -> None:
        self.db = db

    async def record(self, stock: StockRecord) -> None:
        """Keep `stock` unless a newer version is held (Cassandra decides, by timestamp)."""
        await self.db.execute_async(
            _RECORD,
            (stock.product_id, stock.in_stock, stock.available, stock.version, stock.version),
        )

    async def get(self, product_id: uuid.UUID) -> StockRecord | None:
        """The newest stock inventory published for the product, if it ever did."""
        page = await self.db.execute_async(_READ, (product_id,))
        row = page.one()
        if row is None:
            return None
        return StockRecord(
            product_id=product_id,
            in_stock=bool(row.in_stock),
            available=row.available,
            version=row.stock_version,
        )
