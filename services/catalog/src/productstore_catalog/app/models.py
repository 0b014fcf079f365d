"""The catalog API's request and response bodies (Base / Create / Update / Public)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    UrlConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from productstore_catalog.app.core.currencies import currency_problem, minor_units_problem
from productstore_common.text import MULTI_LINE, SINGLE_LINE

MAX_ATTRIBUTES = 50
MAX_IMAGES = 10
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


def _currency(value: str) -> str:
    problem = currency_problem(value)
    if problem is not None:
        # A custom error: a stable `type` for clients and no "Value error, " prefix.
        raise PydanticCustomError("currency", problem)
    return value


Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=SLUG_PATTERN),
    Field(description="Lower-case letters, digits and single hyphens", examples=["running-shoes"]),
]
# Free text: no control or bidi characters (productstore_common.text), checked last,
# after surrounding whitespace is stripped.
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000), MULTI_LINE]
Price = Annotated[
    Decimal,
    Field(
        gt=0,
        max_digits=12,
        decimal_places=2,
        description="Greater than 0, at most 2 decimals (a string in responses)",
        examples=["89.90"],
    ),
]
Currency = Annotated[
    str,
    Field(min_length=1, max_length=8, description="ISO 4217 code", examples=["EUR"]),
    AfterValidator(_currency),
]
AttributeKey = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), SINGLE_LINE
]
AttributeValue = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=256), SINGLE_LINE
]
Attributes = Annotated[
    dict[AttributeKey, AttributeValue],
    Field(max_length=MAX_ATTRIBUTES, examples=[{"colour": "blue", "size": "42"}]),
]
ImageUrl = Annotated[HttpUrl, UrlConstraints(max_length=2048)]
ImageUrls = Annotated[
    list[ImageUrl],
    Field(max_length=MAX_IMAGES, examples=[["https://img.example.com/p/1.jpg"]]),
]


class _Strict(BaseModel):
    # Unknown members are mistakes (a misspelt "prize", a read-only "rating"): say so.
    model_config = ConfigDict(extra="forbid")


def _whole_units(price: Decimal | None, currency: str) -> None:
    problem = price is not None and minor_units_problem(price, currency)
    if problem:
        raise PydanticCustomError("currency_minor_units", problem)


# --- categories -------------------------------------------------------------------


class CategoryBase(_Strict):
    name: Name = Field(examples=["Running shoes"])
    description: Description = ""


class CategoryCreate(CategoryBase):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "slug": "running-shoes",
                    "name": "Running shoes",
                    "description": "Road and trail running shoes",
                }
            ]
        },
    )

    slug: Slug


class CategoryUpdate(_Strict):
    """A partial update: members left out keep their value."""

    name: Name | None = None
    description: Description | None = None


class CategoryPublic(BaseModel):
    slug: str = Field(examples=["running-shoes"])
    name: str = Field(examples=["Running shoes"])
    description: str
    created_at: datetime
    updated_at: datetime


class CategoryList(BaseModel):
    items: list[CategoryPublic]


# --- products ---------------------------------------------------------------------


class ProductBase(_Strict):
    name: Name = Field(examples=["Trail runner 2"])
    description: Description = Field(default="", examples=["A light shoe for muddy trails."])
    category: Slug = Field(description="Slug of an existing category")
    price: Price
    currency: Currency
    attributes: Attributes = Field(default_factory=dict)
    image_urls: ImageUrls = Field(default_factory=list)
    in_stock: bool = Field(
        default=True,
        description="Whether it can be bought, until the inventory service has a stock level "
        "for the product; from then on inventory's level decides (this value is replaced)",
    )

    @field_validator("currency")
    @classmethod
    def _minor_units(cls, value: str, info: ValidationInfo) -> str:
        # price is declared first, so it is validated (when valid) by now.
        _whole_units(info.data.get("price"), value)
        return value


class ProductCreate(ProductBase):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Trail runner 2",
                    "description": "A light shoe for muddy trails.",
                    "category": "running-shoes",
                    "price": "89.90",
                    "currency": "EUR",
                    "attributes": {"colour": "blue", "size": "42"},
                    "image_urls": ["https://img.example.com/p/trail-runner-2.jpg"],
                    "in_stock": True,
                }
            ]
        },
    )


class ProductUpdate(_Strict):
    """A partial update (PATCH): members left out keep their value. `rating` is not
    writable: review events maintain it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"price": "79.90", "in_stock": False}]}
    )

    name: Name | None = None
    description: Description | None = None
    category: Slug | None = None
    price: Price | None = None
    currency: Currency | None = None
    attributes: Attributes | None = None
    image_urls: ImageUrls | None = None
    in_stock: bool | None = Field(
        default=None,
        description="Only while the inventory service has no stock level for the product; "
        "a change once it has one is a 409 (`in_stock_from_inventory`): set stock there",
    )

    # No price rule here: a PATCH's price or currency alone says nothing; the
    # catalog checks the product it would store (`Catalog.update_product`).


class Rating(BaseModel):
    average: float | None = Field(description="Mean of published ratings, 1..5; null if none")
    count: int = Field(ge=0)


class ProductPublic(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    category: str
    price: Decimal = Field(examples=["89.90"])
    currency: str
    attributes: dict[str, str]
    image_urls: list[str]
    in_stock: bool = Field(
        description="Units are available (inventory's StockChanged: `available > 0` over all "
        "locations) once the inventory service has a stock level for the product, usually "
        "within a second or two of a stock change; until then the value an admin set"
    )
    rating: Rating
    version: int = Field(description="Grows with every write (the ETag)")
    created_at: datetime
    updated_at: datetime


class ProductsPage(BaseModel):
    items: list[ProductPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end")


# --- search -----------------------------------------------------------------------


class SearchItem(ProductPublic):
    score: float | None = Field(description="Relevance to `q`; null without a `q`")


class PriceBucketPublic(BaseModel):
    min: Decimal | None = Field(description="Inclusive lower bound; null for the first bucket")
    max: Decimal | None = Field(description="Exclusive upper bound; null for the last bucket")
    count: int


class FacetsPublic(BaseModel):
    categories: dict[str, int] = Field(examples=[{"running-shoes": 12}])
    price: list[PriceBucketPublic]
    in_stock: dict[str, int] = Field(examples=[{"true": 10, "false": 2}])


class SearchPage(BaseModel):
    items: list[SearchItem]
    total: int = Field(description="All matches of the query and filters")
    facets: FacetsPublic
    next_cursor: str | None


class NoResultQuery(BaseModel):
    """Words searched for that found no product, as recorded (normalised)."""

    query: str = Field(
        description="The words, case-folded, whitespace collapsed, invisible characters "
        "dropped, cut to 64 characters",
        examples=["red trail shoes"],
    )
    searches: int = Field(ge=1, description="Searches for them that found nothing")


class NoResultReport(BaseModel):
    """The searches that most often found nothing over whole UTC days."""

    since: date = Field(description="First UTC day counted (inclusive)")
    until: date = Field(description="Last UTC day counted (inclusive): today")
    queries: list[NoResultQuery] = Field(description="Most searches first; ties by query")
