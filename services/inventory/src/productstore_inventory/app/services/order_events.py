"""The order events inventory consumes, turned into reservation operations.

The common library's IdempotentConsumer delivers each event once per group (a
redelivery is dropped by its id); the operations are idempotent per order as
well, so the same fact under another event id changes nothing either. The
topic's other types (OrderReserved, OrderFulfilled, OrderDelivered: the stock
is already where they say) are decoded, so a malformed one is dead-lettered,
and committed without a claim.
"""

from __future__ import annotations

import logging
from typing import Any

from productstore_common.events import CloudEvent, EventRegistry, PoisonEventError
from productstore_contracts.events.orders import (
    ORDER_EVENTS,
    OrderCancelled,
    OrderExpired,
    OrderPaid,
    OrderPlaced,
)
from productstore_inventory.app.services.reservations import Outcome, Reservations

_logger = logging.getLogger(__name__)

# What moves stock; the consumer passes the topic's other types over (`handles=`).
HANDLED: tuple[str, ...] = tuple(
    kind.event_type for kind in (OrderPlaced, OrderPaid, OrderCancelled, OrderExpired)
)


def order_registry() -> EventRegistry:
    return EventRegistry(ORDER_EVENTS)


class OrderEvents:
    def __init__(self, reservations: Reservations) -> None:
        self.reservations = reservations

    async def handle(self, event: CloudEvent[Any]) -> None:
        outcome = await self.apply(event.data)
        _logger.info(
            "order event handled",
            extra={"event_type": event.type, "subject": event.subject, "outcome": outcome},
        )

    async def apply(self, data: object) -> Outcome:
        match data:
            case OrderPlaced(order_id=order_id, lines=lines):
                result = await self.reservations.reserve(
                    order_id, [(line.product_id, line.quantity) for line in lines]
                )
                return result.outcome
            case OrderPaid(order_id=order_id):
                return await self.reservations.commit(order_id)
            case OrderCancelled(order_id=order_id, paid=True):
                return await self.reservations.restock(order_id)
            case OrderCancelled(order_id=order_id):
                return await self.reservations.release(order_id, "cancelled")
            case OrderExpired(order_id=order_id):
                return await self.reservations.release(order_id, "order_expired")
        raise PoisonEventError(f"inventory does not handle {type(data).__name__}")
