"""The catalog's and inventory's events as the wishlist consumes them.

Prices: PriceChanged (the catalog publishes it with ProductUpdated when a write
changes the price), one consumer with the kit's dedupe. Stock: BackInStock opens a
product's waves, StockChanged keeps their `available` current; that consumer skips
the kit's dedupe (StockChanged comes with every reservation, and both handlers are
idempotent by themselves: stock by version, waves by their counter, notices by
their claims).
"""

from __future__ import annotations

import logging
from typing import Any

from productstore_common.events import CloudEvent, EventRegistry
from productstore_contracts.events.catalog import PRODUCT_EVENTS, PriceChanged
from productstore_contracts.events.inventory import INVENTORY_EVENTS, BackInStock, StockChanged
from productstore_wishlist.app.services.notices import Notices

_logger = logging.getLogger(__name__)

PRICE_TYPES: tuple[str, ...] = (PriceChanged.event_type,)
STOCK_TYPES: tuple[str, ...] = (BackInStock.event_type, StockChanged.event_type)


def price_registry() -> EventRegistry:
    return EventRegistry(PRODUCT_EVENTS)


def stock_registry() -> EventRegistry:
    return EventRegistry(INVENTORY_EVENTS)


class WatchedEvents:
    def __init__(self, notices: Notices) -> None:
        self.notices = notices

    async def handle(self, event: CloudEvent[Any]) -> None:
        sent = await self.apply(event)
        if sent:
            _logger.info(
                "wishlist notices written",
                extra={"event_type": event.type, "subject": event.subject, "notices": sent},
            )

    async def apply(self, event: CloudEvent[Any]) -> int:
        data = event.data
        match data:
            case PriceChanged():
                return await self.notices.price_changed(event.id, event.time, data)
            case BackInStock():
                return await self.notices.back_in_stock(event.time, data)
            case StockChanged():
                return await self.notices.stock_changed(
                    data.product_id, data.available, data.version
                )
        return 0
