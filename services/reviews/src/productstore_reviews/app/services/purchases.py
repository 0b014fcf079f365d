"""The `verified_purchase` hook: whether a user has a delivered order of a product.

The answer comes from a table this service fills from the orders topic (one
consumer of `productstore.orders`, acting on OrderDelivered only), not from a call
to the orders service per review: a review is written while orders is down too.
A review's `verified_purchase` is decided when it is written; a delivery after that
does not change it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Protocol

from productstore_common.events import CloudEvent, EventRegistry
from productstore_contracts.events.orders import ORDER_EVENTS, OrderDelivered
from productstore_reviews.app.data.purchases import PurchaseStore

_logger = logging.getLogger(__name__)

# The one order event reviews acts on; the topic's others are committed without a claim.
HANDLED: tuple[str, ...] = (OrderDelivered.event_type,)


class PurchaseVerifier(Protocol):
    async def delivered(self, user_id: uuid.UUID, product_id: uuid.UUID) -> bool:
        """Whether the user has a delivered order with the product on it."""
        ...


def orders_registry() -> EventRegistry:
    """Every order event is decoded (a malformed one is dead-lettered, not guessed at)."""
    return EventRegistry(ORDER_EVENTS)


class DeliveredPurchases:
    """Verified purchases as the orders topic announced them."""

    def __init__(self, store: PurchaseStore) -> None:
        self.store = store

    async def delivered(self, user_id: uuid.UUID, product_id: uuid.UUID) -> bool:
        return await self.store.delivered(user_id, product_id)

    async def handle(self, event: CloudEvent[Any]) -> None:
        data = event.data
        if not isinstance(data, OrderDelivered):
            return  # `handles=` keeps the others away; nothing to do if one arrives
        await self.store.record(
            data.user_id, data.order_id, [line.product_id for line in data.lines], event.time
        )
        _logger.info(
            "delivered purchase recorded",
            extra={"order_id": str(data.order_id), "products": len(data.lines)},
        )
