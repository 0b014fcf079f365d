"""The API's schemas: carts, checkout requests and orders as clients see them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OrderStatus = Literal[
    "pending",
    "reserved",
    "paid",
    "fulfilled",
    "delivered",
    "cancelled",
    "expired",
    "rejected",
    "payment_failed",
]
ORDER_STATUSES: tuple[OrderStatus, ...] = (
    "pending",
    "reserved",
    "paid",
    "fulfilled",
    "delivered",
    "cancelled",
    "expired",
    "rejected",
    "payment_failed",
)

_COUNTRY = r"^[A-Z]{2}$"
# Provider tokens are opaque, short and printable (the sandbox's: tok_approve, ...).
_TOKEN = r"^[A-Za-z0-9_.:-]{1,200}$"  # noqa: S105 - a pattern, not a secret


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- cart ---------------------------------------------------------------------------


class CartItemUpdate(_Strict):
    """How many units of the product the cart should hold."""

    # Strict: `true` is not one unit.
    quantity: int = Field(
        ge=0, le=1000, strict=True, description="0 removes the product from the cart"
    )


class CartItemPublic(BaseModel):
    product_id: uuid.UUID
    name: str | None = Field(description="The catalog's name now; null if it was deleted")
    quantity: int
    unit_price: Decimal | None = Field(
        description="The catalog's price now; null if the product was deleted"
    )
    currency: str | None
    line_total: Decimal | None
    price_when_added: Decimal = Field(description="The price the user saw when adding it")
    price_changed: bool = Field(description="The price now differs from `price_when_added`")
    available: int | None = Field(
        description="Units inventory can still sell; null if inventory did not answer"
    )
    in_stock: bool | None = Field(description="Whether `quantity` units can be had now")
    out_of_stock_since_added: bool = Field(
        description="It was in stock when added and is not any more"
    )
    unavailable: bool = Field(description="The product was deleted from the catalog")
    added_at: datetime


class CartPublic(BaseModel):
    items: list[CartItemPublic]
    total: Decimal = Field(description="Sum of the line totals at today's prices")
    currency: str | None = Field(description="The items' currency (null for an empty cart)")
    notices: list[str] = Field(
        description="What changed since the items were added, in words a shopper reads"
    )


# --- checkout and orders --------------------------------------------------------------


class LineIn(_Strict):
    product_id: uuid.UUID
    quantity: int = Field(ge=1, le=1000, strict=True)


class ShippingAddress(_Strict):
    name: str = Field(min_length=1, max_length=200)
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(pattern=_COUNTRY, description="ISO 3166-1 alpha-2, upper case")


class OrderCreate(_Strict):
    """A checkout: the lines (default: the cart), where to ship, how to pay."""

    lines: list[LineIn] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Omitted: the user's cart, which is emptied once the order is reserved",
    )
    shipping_address: ShippingAddress
    payment_token: str = Field(
        pattern=_TOKEN, description="The payment provider's token for the card"
    )


class OrderLinePublic(BaseModel):
    product_id: uuid.UUID
    name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


class ShortLinePublic(BaseModel):
    product_id: uuid.UUID
    requested: int
    available: int


class OrderPublic(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    status: OrderStatus
    lines: list[OrderLinePublic] = Field(description="Summed per product")
    total: Decimal
    currency: str
    shipping_address: ShippingAddress
    short: list[ShortLinePublic] = Field(
        description="For a rejected order, the lines inventory could not hold"
    )
    cancel_reason: str | None
    hold_expires_at: datetime | None = Field(
        description="While reserved: when the stock held for it is released unpaid"
    )
    created_at: datetime
    updated_at: datetime


class OrdersPage(BaseModel):
    items: list[OrderPublic]
