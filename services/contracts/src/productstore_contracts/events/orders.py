"""Order events (topic `productstore.orders`, key = order id), one per move of the
order state machine that others act on.

OrderPlaced, OrderPaid, OrderCancelled and OrderExpired began as a consumer-driven
contract (what inventory needs to hold, sell, release and restock); OrderReserved,
OrderFulfilled and OrderDelivered are for the services that follow an order
(notifications, reviews' verified purchases) and are passed over by inventory.
A producer may add optional fields; removing or changing one needs a new `.vN`
type. Lines name products and quantities only: prices, addresses and payments are
the orders service's own business. OrderPlaced also
carries the order's total and currency (optional, added later) for the notifications
service, which consumes every type here to write to the order's owner.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from productstore_contracts.events import EventPayload

ORDERS_SOURCE = "/productstore/orders"
ORDERS_TOPIC = "productstore.orders"

# Why an order was cancelled; inventory releases (unpaid) or restocks (paid) either way.
CancelReason = Literal["customer", "admin", "payment_failed", "rejected", "fraud", "other"]


class OrderLine(BaseModel):
    """One line of an order as placed; a product may appear on several lines."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    product_id: UUID
    quantity: int = Field(ge=1, le=1_000_000)


class OrderPlaced(EventPayload):
    """A checkout was accepted: inventory holds stock for every line or for none."""

    event_type: ClassVar[str] = "productstore.orders.OrderPlaced.v1"

    order_id: UUID
    user_id: UUID
    lines: list[OrderLine] = Field(min_length=1, max_length=100)
    # Optional (added for the notifications service's messages; older events lack them).
    total: Decimal | None = Field(
        default=None, ge=0, description="The order's total as placed, in `currency`"
    )
    currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code of `total`"
    )


class OrderPaid(EventPayload):
    """The payment was authorised: inventory turns the holds into sold stock."""

    event_type: ClassVar[str] = "productstore.orders.OrderPaid.v1"

    order_id: UUID


class OrderCancelled(EventPayload):
    """Cancelled by the customer or an admin: unpaid holds are released, paid stock restocked."""

    event_type: ClassVar[str] = "productstore.orders.OrderCancelled.v1"

    order_id: UUID
    reason: CancelReason
    paid: bool = Field(description="Whether the order had been paid (its stock was committed)")


class OrderExpired(EventPayload):
    """The order was not paid in time: its holds are released."""

    event_type: ClassVar[str] = "productstore.orders.OrderExpired.v1"

    order_id: UUID


class OrderReserved(EventPayload):
    """Inventory holds the order's stock; the payment is being authorised."""

    event_type: ClassVar[str] = "productstore.orders.OrderReserved.v1"

    order_id: UUID
    user_id: UUID
    hold_expires_at: datetime = Field(
        description="When the hold lapses (and the order expires) unless it is paid by then"
    )


class OrderFulfilled(EventPayload):
    """The order was handed to the carrier; its payment is captured."""

    event_type: ClassVar[str] = "productstore.orders.OrderFulfilled.v1"

    order_id: UUID
    user_id: UUID
    lines: list[OrderLine] = Field(min_length=1, max_length=100)


class OrderDelivered(EventPayload):
    """The order reached its customer: each of its products is a purchase of the user's
    (the reviews service's verified purchase)."""

    event_type: ClassVar[str] = "productstore.orders.OrderDelivered.v1"

    order_id: UUID
    user_id: UUID
    lines: list[OrderLine] = Field(min_length=1, max_length=100)


ORDER_EVENTS: tuple[type[EventPayload], ...] = (
    OrderPlaced,
    OrderReserved,
    OrderPaid,
    OrderCancelled,
    OrderExpired,
    OrderFulfilled,
    OrderDelivered,
)
