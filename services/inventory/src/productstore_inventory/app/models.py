"""Request and response bodies of the inventory API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from productstore_inventory.app.core.config import LOCATION_PATTERN

MAX_UNITS = 1_000_000_000
# Strict: JSON true is not 1 unit (pydantic's lax mode would take it).
Units = Annotated[int, Field(strict=True, ge=0, le=MAX_UNITS)]
Location = Annotated[str, StringConstraints(pattern=LOCATION_PATTERN)]


class LocationStockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_hand: Units


class ReorderSettings(BaseModel):
    """A product's own reorder settings; a member sent as null goes back to the
    service's default, a member left out is kept."""

    model_config = ConfigDict(extra="forbid")

    lead_time_days: Annotated[
        float | None, Field(strict=True, gt=0, le=365, description="Days from order to arrival")
    ] = None
    review_period_days: Annotated[
        float | None,
        Field(strict=True, ge=0, le=365, description="Days until stock is reviewed again"),
    ] = None
    service_level: Annotated[
        float | None,
        Field(
            strict=True,
            ge=0.5,
            le=0.9999,
            description="Chance of not running out during a lead time",
        ),
    ] = None


class StockPut(BaseModel):
    """`on_hand` for the default location, or `locations` by name (not both); or only
    `reorder` (the product's reorder settings) for a product that has stock."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"on_hand": 40, "low_stock_threshold": 5},
                {"locations": {"moscow": {"on_hand": 30}, "kazan": {"on_hand": 10}}},
                {"reorder": {"lead_time_days": 14, "service_level": 0.99}},
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

    reorder: Annotated[
        ReorderSettings | None,
        Field(description="This product's reorder settings over the service's defaults"),
    ] = None

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if self.on_hand is not None and self.locations is not None:
            raise ValueError("send either on_hand (the default location) or locations, not both")
        if self.on_hand is None and self.locations is None and self.reorder is None:
            raise ValueError("send on_hand (the default location), locations or reorder")
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
    reorder: Annotated[
        ReorderSettings,
        Field(description="This product's own reorder settings (null: the service default)"),
    ] = ReorderSettings()


class LowStockItem(BaseModel):
    product_id: uuid.UUID
    available: int = Field(description="Available when it crossed the threshold")
    low_stock_threshold: int
    since: datetime


class LowStockPage(BaseModel):
    items: list[LowStockItem]


class DemandForecastPublic(BaseModel):
    """The daily demand behind a suggestion and how it was estimated."""

    method: Annotated[
        Literal["none", "ses", "tsb"],
        Field(
            description="`ses`: simple exponential smoothing (regular demand); `tsb`: "
            "Teunter-Syntetos-Babai (intermittent demand); `none`: no sale in the window"
        ),
    ]
    daily_demand: Annotated[float, Field(description="Forecast units sold a day")]
    sigma: Annotated[
        float, Field(description="Root mean square of the one-day-ahead forecast errors")
    ]
    history_days: Annotated[int, Field(description="Days read, from the first sale in the window")]
    sale_days: Annotated[int, Field(description="Days with a sale among them")]
    units_sold: int
    average_demand_interval: Annotated[
        float | None,
        Field(description="history_days / sale_days; above 1.32 demand counts as intermittent"),
    ]
    sale_probability: Annotated[
        float | None, Field(description="TSB: chance of a sale on a day")
    ] = None
    sale_size: Annotated[float | None, Field(description="TSB: units in a sale")] = None


class ReorderPolicyPublic(BaseModel):
    lead_time_days: float
    review_period_days: float
    service_level: float
    z: Annotated[float, Field(description="Standard normal quantile of the service level")]
    overridden: Annotated[
        list[str], Field(description="Which of these come from the product, not the defaults")
    ]


class ReorderSuggestion(BaseModel):
    """What to order, by when, and every number behind it (explained in `why`)."""

    product_id: uuid.UUID
    quantity: Annotated[int, Field(description="Units to order")]
    order_by: Annotated[date, Field(description="Order on or before this day (UTC)")]
    stockout_expected: Annotated[
        date | None, Field(description="When available stock runs out at the forecast rate")
    ]
    available: Annotated[int, Field(description="Available now (on hand - reserved)")]
    forecast: DemandForecastPublic
    policy: ReorderPolicyPublic
    lead_time_demand: Annotated[float, Field(description="daily demand x lead time")]
    safety_stock: Annotated[float, Field(description="z x sigma x sqrt(lead time)")]
    reorder_point: Annotated[float, Field(description="lead-time demand + safety stock")]
    order_up_to: Annotated[
        float,
        Field(description="daily demand x (lead time + review period) + z x sigma x sqrt(L + R)"),
    ]
    why: Annotated[dict[str, str], Field(description="One sentence per number, by its name")]


class ReorderSuggestionPage(BaseModel):
    items: list[ReorderSuggestion]
    as_of: Annotated[date, Field(description="The day (UTC) the plans are for")]
