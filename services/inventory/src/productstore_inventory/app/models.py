"""Request and response bodies of the inventory API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from productstore_inventory.app.core.config import LOCATION_PATTERN

MAX_UNITS = 1_000_000_000
Units = Annotated[int, Field(ge=0, le=MAX_UNITS)]
Location = Annotated[str, StringConstraints(pattern=LOCATION_PATTERN)]


class LocationStockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_hand: Units


class StockPut(BaseModel):
    """`on_hand` for the default location, or `locations` by name (not both)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"on_hand": 40, "low_stock_threshold": 5},
                {"locations": {"moscow": {"on_hand": 30}, "kazan": {"on_hand": 10}}},
            ]
        },
    )

    on_hand: Units | None = None
    locations: Annotated[
        dict[Location, LocationStockIn] | None,
        Field(min_length=1, max_length=50, description="Stock per location name"),
    ] = None
    low_stock_threshold: Annotated[
        Units | None,
        Field(
            description="Alert (LowStock) when available falls to this or below; kept if left out"
        ),
    ] = None

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.on_hand is None) == (self.locations is None):
            raise ValueError("send either on_hand (the default location) or locations, not both")
        return self


class LocationStock(BaseModel):
    on_hand: int
    reserved: int
    available: int


class StockPublic(BaseModel):
    product_id: uuid.UUID
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int
    low_stock: bool
    locations: dict[str, LocationStock]


class LowStockItem(BaseModel):
    product_id: uuid.UUID
    available: int = Field(description="Available when it crossed the threshold")
    low_stock_threshold: int
    since: datetime


class LowStockPage(BaseModel):
    items: list[LowStockItem]
