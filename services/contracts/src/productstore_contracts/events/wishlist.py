"""Payloads of the wishlist service's notices (topic `productstore.wishlist`, key = user id).

The wishlist service watches the catalog's prices and inventory's stock for every
product on a wishlist and tells each owner, and each follower of a shared list,
once per product, user and day (docs/adr/0023): the notifications service turns
these into messages. The event id is derived from (kind, product, user, day), so
the same notice published twice has the same id and the consumer drops the copy.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from productstore_contracts.events import EventPayload

WISHLIST_SOURCE = "/productstore/wishlist"
WISHLIST_TOPIC = "productstore.wishlist"

# How the user holds the product: on a list of their own, or on a shared list they follow.
Audience = Literal["owner", "follower"]


class _Notice(EventPayload):
    user_id: UUID = Field(description="Who is told")
    product_id: UUID
    wishlist_id: UUID = Field(
        description="A list holding the product that the user owns or follows"
    )
    audience: Audience
    day: date = Field(description="The UTC day of the notice: at most one per product and user")


class WishlistPriceDropped(_Notice):
    """A wishlisted product became cheaper (the catalog's PriceChanged, same currency)."""

    event_type: ClassVar[str] = "productstore.wishlist.WishlistPriceDropped.v1"

    old_price: Decimal
    new_price: Decimal
    currency: str


class WishlistBackInStock(_Notice):
    """A wishlisted product can be bought again. Sent in waves: a wave tells at most as
    many users as units were available when it went out."""

    event_type: ClassVar[str] = "productstore.wishlist.WishlistBackInStock.v1"

    available: int = Field(ge=1, description="Units available when the wave went out")
    wave: int = Field(ge=1, description="1 for the first wave of this return, then 2, ...")


WISHLIST_EVENTS: tuple[type[EventPayload], ...] = (WishlistPriceDropped, WishlistBackInStock)
