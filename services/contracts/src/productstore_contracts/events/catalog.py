"""Payloads of the catalog's product events (topic `productstore.catalog`, key = product id).

The catalog writes them through its outbox in the same logged batch as the
product row; wishlist (price drops), search replicas and analytics consume
them. Events carry ids and the fields a consumer acts on, not whole documents
(descriptions and attributes stay in the catalog). `version` is the product
row's write timestamp in microseconds: it grows with every write of one
product, so a consumer can ignore an event older than what it already holds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from productstore_contracts.events import EventPayload

CATALOG_SOURCE = "/productstore/catalog"
CATALOG_TOPIC = "productstore.catalog"


class _ProductFacts(EventPayload):
    product_id: UUID
    version: int = Field(ge=0, description="Row write time in µs; larger is newer")


class ProductCreated(_ProductFacts):
    event_type: ClassVar[str] = "productstore.catalog.ProductCreated.v1"

    name: str
    category: str
    price: Decimal
    currency: str
    in_stock: bool


class ProductUpdated(_ProductFacts):
    event_type: ClassVar[str] = "productstore.catalog.ProductUpdated.v1"

    name: str
    category: str
    price: Decimal
    currency: str
    in_stock: bool
    changed: list[str] = Field(description="Names of the fields this write changed")


class PriceChanged(_ProductFacts):
    """Published with ProductUpdated when a write changes the price or its currency."""

    event_type: ClassVar[str] = "productstore.catalog.PriceChanged.v1"

    old_price: Decimal
    new_price: Decimal
    currency: str
    old_currency: str | None = Field(default=None, description="Set when the currency changed too")


class ProductDeleted(_ProductFacts):
    event_type: ClassVar[str] = "productstore.catalog.ProductDeleted.v1"


PRODUCT_EVENTS: tuple[type[EventPayload], ...] = (
    ProductCreated,
    ProductUpdated,
    PriceChanged,
    ProductDeleted,
)
