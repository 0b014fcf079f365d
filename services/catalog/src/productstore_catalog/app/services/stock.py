"""Inventory's events, as the catalog takes them: StockChanged sets `in_stock`.

A product is in stock when inventory says units are available (`available > 0`,
over all its locations). The other events of the topic are the orders service's
(StockReserved, ...) or alerts (LowStock, BackInStock: each comes with a
StockChanged of the same version): nothing in the catalog follows them.
"""

from __future__ import annotations

from productstore_catalog.app.data.stock import StockRecord
from productstore_catalog.app.services.catalog import Catalog
from productstore_common.events import CloudEvent, EventPayload
from productstore_contracts.events.inventory import StockChanged


class StockEvents:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def handle(self, event: CloudEvent[EventPayload]) -> None:
        """The stock feed's handler. Idempotent and order-safe: the level is kept by
        its version (an older one changes nothing), and the product is compared with
        the newest level, not with this event."""
        data = event.data
        if not isinstance(data, StockChanged):
            return
        await self.catalog.record_stock(
            StockRecord(
                product_id=data.product_id,
                in_stock=data.available > 0,
                available=data.available,
                version=data.version,
            )
        )
