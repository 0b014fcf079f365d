"""Inventory's events, consumed for the products' `in_stock` (see `feeds`)."""

from __future__ import annotations

from typing import Final

from productstore_common.events import EventRegistry
from productstore_contracts.events.inventory import INVENTORY_EVENTS, StockChanged

# The order outcomes (StockReserved, ...) cost no claim.
STOCK_HANDLES: Final = (StockChanged.event_type,)


def stock_registry() -> EventRegistry:
    """Every type of the inventory topic."""
    return EventRegistry(INVENTORY_EVENTS)
