"""The search index's public types.

Note for the service (CATALOG): `IndexedProduct.version` is optional (default 0).
Pass a number that grows with every write of the product (e.g. `updated_at` in
microseconds since the epoch) so that replayed or reordered product events are
harmless: `SearchIndex.upsert` ignores a product older than the one it holds,
and `SearchIndex.remove(id, version=...)` leaves a tombstone so that a stale
upsert arriving after the delete does not bring the product back. With the
default version 0 every upsert and remove simply applies (last call wins).

`SearchIndex(cursor_key=...)` takes the key that signs pagination cursors; give
every replica the same key so that a cursor issued by one replica is accepted by
another behind the load balancer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final, Literal
from uuid import UUID

# text: words given (filters or not); filters: filters without words (a category
# page); all: neither (the whole catalogue in some order).
SearchKind = Literal["text", "filters", "all"]
SEARCH_KINDS: Final[tuple[SearchKind, ...]] = ("text", "filters", "all")


@dataclass(frozen=True, slots=True)
class IndexedProduct:
    """What the index needs of a product."""

    id: UUID
    name: str
    description: str
    category: str  # category slug
    price: Decimal
    currency: str  # ISO 4217
    in_stock: bool
    rating: float | None  # average rating, None when unrated
    created_at: datetime  # tz-aware UTC
    version: int = 0  # grows with every write; older upserts are ignored


class SortBy(StrEnum):
    """Result orders; every order ends with the product id so it is total."""

    relevance = "relevance"  # best match first; newest first when there is no q
    price_asc = "price_asc"
    price_desc = "price_desc"
    rating = "rating"  # best rated first, unrated last
    newest = "newest"
    name = "name"  # casefolded name


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A search: free text, filters, order and one page."""

    q: str | None = None
    category: str | None = None
    min_price: Decimal | None = None  # inclusive
    max_price: Decimal | None = None  # inclusive
    in_stock: bool | None = None
    min_rating: float | None = None  # inclusive; unrated products never pass
    sort_by: SortBy = SortBy.relevance
    limit: int = 20
    cursor: str | None = None

    @property
    def kind(self) -> SearchKind:
        """What the search asks for, in a closed set (never its words): a metrics label."""
        if self.q:
            return "text"
        if (
            self.category is not None
            or self.min_price is not None
            or self.max_price is not None
            or self.in_stock is not None
            or self.min_rating is not None
        ):
            return "filters"
        return "all"


@dataclass(frozen=True, slots=True)
class PriceBucket:
    """Products priced in [min, max); None is an open end."""

    min: Decimal | None
    max: Decimal | None
    count: int


@dataclass(frozen=True, slots=True)
class Facets:
    """Counts over everything the query and all its filters match."""

    categories: dict[str, int]  # slug -> count, only non-zero
    price: list[PriceBucket]  # every fixed bucket, also empty ones
    in_stock: dict[str, int]  # {"true": n, "false": m}


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: UUID
    score: float | None  # None unless a q was given


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: list[SearchHit]
    total: int
    facets: Facets
    next_cursor: str | None


class InvalidCursor(ValueError):  # noqa: N818 -- the name the API layer uses
    """Malformed, tampered, or issued for a different query (the API answers 400)."""
