"""Inventory's events as orders consumes them: the outcomes keyed by order id move the
state machine; the product events on the same topic (StockChanged, LowStock,
BackInStock) are not orders' business and are passed over."""

from __future__ import annotations

import logging
from typing import Any

from productstore_common.events import CloudEvent, EventRegistry
from productstore_contracts.events.inventory import (
    INVENTORY_EVENTS,
    StockCommitRefused,
    StockReleased,
    StockReserved,
    StockShortfall,
)
from productstore_orders.app.services.lifecycle import Lifecycle

_logger = logging.getLogger(__name__)


# What moves an order; the topic's other types are committed without a claim.
HANDLED: tuple[str, ...] = tuple(
    kind.event_type for kind in (StockReserved, StockShortfall, StockReleased, StockCommitRefused)
)


def inventory_registry() -> EventRegistry:
    return EventRegistry(INVENTORY_EVENTS)


class InventoryEvents:
    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle

    async def handle(self, event: CloudEvent[Any]) -> None:
        outcome = await self.apply(event.data)
        if outcome != "not_ours":
            _logger.info(
                "inventory event handled",
                extra={"event_type": event.type, "subject": event.subject, "outcome": outcome},
            )

    async def apply(self, data: object) -> str:
        match data:
            case StockReserved():
                return await self.lifecycle.on_reserved(data)
            case StockShortfall():
                return await self.lifecycle.on_shortfall(data)
            case StockReleased():
                return await self.lifecycle.on_released(data)
            case StockCommitRefused():
                return await self.lifecycle.on_commit_refused(data)
        # StockCommitted confirms what orders already knows; product events are others'.
        return "not_ours"
