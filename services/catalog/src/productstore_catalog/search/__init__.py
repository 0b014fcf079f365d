"""Full-text product search: an in-memory index the catalog service keeps per replica.

Pure (no I/O): the service loads every product at start and applies product
events; see services/catalog/SEARCH.md for the design and its measurements.
"""

from productstore_catalog.search.columns import PRICE_EDGES
from productstore_catalog.search.index import SearchIndex
from productstore_catalog.search.model import (
    SEARCH_KINDS,
    Facets,
    IndexedProduct,
    InvalidCursor,
    PriceBucket,
    SearchHit,
    SearchKind,
    SearchQuery,
    SearchResult,
    SortBy,
)

__all__ = [
    "PRICE_EDGES",
    "SEARCH_KINDS",
    "Facets",
    "IndexedProduct",
    "InvalidCursor",
    "PriceBucket",
    "SearchHit",
    "SearchIndex",
    "SearchKind",
    "SearchQuery",
    "SearchResult",
    "SortBy",
]
