"""Payloads of inventory's events (topic `productstore.inventory`).

Keyed by order id (StockReserved, StockShortfall, StockReleased, StockCommitted,
StockCommitRefused: what the orders service moves its state machine on) or by
product id (StockChanged, LowStock, BackInStock: the catalog's `in_stock`,
admin alerts, analytics). Event ids are derived from the order or the stock
version, so the same fact published twice has the same id and consumers drop
the copy.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from productstore_contracts.events import EventPayload

INVENTORY_SOURCE = "/productstore/inventory"
INVENTORY_TOPIC = "productstore.inventory"

ReleaseReason = Literal["cancelled", "expired", "order_expired", "shortfall", "restocked"]


class ReservedLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    product_id: UUID
    quantity: int = Field(ge=1)


class ShortLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    product_id: UUID
    requested: int = Field(ge=1)
    available: int = Field(ge=0, description="Available when the reservation was refused")


class StockReserved(EventPayload):
    """Every line of the order is held until `expires_at` (lines summed per product)."""

    event_type: ClassVar[str] = "productstore.inventory.StockReserved.v1"

    order_id: UUID
    lines: list[ReservedLine]
    expires_at: datetime


class StockShortfall(EventPayload):
    """The order cannot be reserved: nothing is held for it (the orders service rejects it)."""

    event_type: ClassVar[str] = "productstore.inventory.StockShortfall.v1"

    order_id: UUID
    short: list[ShortLine]


class StockReleased(EventPayload):
    """The order's holds were released (or its sold stock put back, reason `restocked`)."""

    event_type: ClassVar[str] = "productstore.inventory.StockReleased.v1"

    order_id: UUID
    reason: ReleaseReason


class StockCommitted(EventPayload):
    """The order was paid and its held stock is sold (on_hand and reserved went down)."""

    event_type: ClassVar[str] = "productstore.inventory.StockCommitted.v1"

    order_id: UUID


class StockCommitRefused(EventPayload):
    """A payment arrived for an order whose holds are gone: refund it, nothing was sold."""

    event_type: ClassVar[str] = "productstore.inventory.StockCommitRefused.v1"

    order_id: UUID
    reason: Literal["expired", "released", "rejected", "unknown_order"]


class _ProductStock(EventPayload):
    product_id: UUID
    available: int
    version: int = Field(ge=0, description="Grows with every stock write of the product")


class StockChanged(_ProductStock):
    """A product's totals after a write; consumers keep the newest `version`."""

    event_type: ClassVar[str] = "productstore.inventory.StockChanged.v1"

    on_hand: int = Field(ge=0)
    reserved: int = Field(ge=0)
    in_stock: bool


class LowStock(_ProductStock):
    """Available fell to the threshold or below (once per crossing, not on every sale)."""

    event_type: ClassVar[str] = "productstore.inventory.LowStock.v1"

    threshold: int = Field(ge=0)


class BackInStock(_ProductStock):
    """Available rose above the threshold again after a LowStock."""

    event_type: ClassVar[str] = "productstore.inventory.BackInStock.v1"

    threshold: int = Field(ge=0)


INVENTORY_EVENTS: tuple[type[EventPayload], ...] = (
    StockReserved,
    StockShortfall,
    StockReleased,
    StockCommitted,
    StockCommitRefused,
    StockChanged,
    LowStock,
    BackInStock,
)
