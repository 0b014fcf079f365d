"""Order events as inventory consumes them (topic `productstore.orders`, key = order id).

This is a consumer-driven contract: the orders service does not exist yet, and
these classes are what inventory needs from it. When orders is built it
produces exactly these payloads (it may add optional fields; removing or
changing one needs a new `.vN` type), and inventory's tests of these examples
keep the two sides honest. Lines name products and quantities only: prices,
addresses and payments are the orders service's own business. OrderPlaced also
carries the order's total and currency (optional, added later) for the notifications
service, which consumes every type here to write to the order's owner.
"""

from __future__ import annotations

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


ORDER_EVENTS: tuple[type[EventPayload], ...] = (
    OrderPlaced,
    OrderPaid,
    OrderCancelled,
    OrderExpired,
)
