"""Per-product columns (one row per slot) that filters, facets and sorts read vectorized."""

from __future__ import annotations

import bisect
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from productstore_catalog.search.model import IndexedProduct

# Names sort by their casefolded text. The first bytes of its UTF-8 (whose byte
# order is the code point order Python compares str by), as big-endian uint64
# words, sort vectorized; only products sharing all those bytes are compared in
# full. 32 bytes: 16 Cyrillic letters, enough to get past "Смартфон Galaxy".
NAME_KEY_WORDS = 4
# Facet buckets: [None, 10), [10, 50), ... [50000, None); fixed so a UI can
# show the same ranges for every query. Each product's bucket is kept per slot.
PRICE_EDGES: tuple[Decimal, ...] = tuple(
    Decimal(edge) for edge in (10, 50, 100, 500, 1000, 5000, 10000, 50000)
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UINT64 = (1 << 64) - 1


def microseconds(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def name_key(sort_name: str) -> list[int]:
    """The vectorized part of a name's sort key."""
    prefix = sort_name.encode()[: 8 * NAME_KEY_WORDS].ljust(8 * NAME_KEY_WORDS, b"\0")
    return [int.from_bytes(prefix[i : i + 8], "big") for i in range(0, len(prefix), 8)]


class Columns:
    """Growable numpy columns plus the Python objects a page needs (ids, exact prices, names)."""

    def __init__(self) -> None:
        self.size = 0
        self.alive = np.zeros(0, dtype=np.bool_)
        self.price = np.zeros(0, dtype=np.float64)
        self.price_bucket = np.zeros(0, dtype=np.int8)
        self.rating = np.zeros(0, dtype=np.float64)  # NaN when unrated
        self.in_stock = np.zeros(0, dtype=np.bool_)
        self.category = np.zeros(0, dtype=np.int32)
        self.created = np.zeros(0, dtype=np.float64)  # µs since the epoch, exact below 2**53
        self.id_high = np.zeros(0, dtype=np.uint64)
        self.id_low = np.zeros(0, dtype=np.uint64)
        self.name_length = np.zeros(0, dtype=np.float64)
        self.description_length = np.zeros(0, dtype=np.float64)
        self.name_key = np.zeros((0, NAME_KEY_WORDS), dtype=np.uint64)
        # ids as ints, not UUID objects: ints are invisible to the cyclic garbage
        # collector, whose full passes would otherwise walk every product's id
        self.ids: list[int] = []
        self.prices: list[Decimal] = []
        self.sort_names: list[str] = []
        self.category_codes: dict[str, int] = {}
        self.category_slugs: list[str] = []

    _ARRAYS = (
        "alive",
        "price",
        "price_bucket",
        "rating",
        "in_stock",
        "category",
        "created",
        "id_high",
        "id_low",
        "name_length",
        "description_length",
        "name_key",
    )

    def _grow(self) -> None:
        capacity = max(1024, 2 * len(self.alive))
        for attribute in self._ARRAYS:
            old: npt.NDArray[Any] = getattr(self, attribute)
            # column-major, so that each word of the name key is one contiguous column
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype, order="F")
            new[: self.size] = old[: self.size]
            setattr(self, attribute, new)

    def append(self, product: IndexedProduct, name_length: int, description_length: int) -> int:
        if self.size == len(self.alive):
            self._grow()
        slot = self.size
        self.size += 1
        code = self.category_codes.get(product.category)
        if code is None:
            code = self.category_codes[product.category] = len(self.category_slugs)
            self.category_slugs.append(product.category)
        sort_name = product.name.casefold()
        self.alive[slot] = True
        self.price[slot] = float(product.price)
        self.price_bucket[slot] = bisect.bisect_right(PRICE_EDGES, product.price)
        self.rating[slot] = np.nan if product.rating is None else product.rating
        self.in_stock[slot] = product.in_stock
        self.category[slot] = code
        self.created[slot] = microseconds(product.created_at)
        self.id_high[slot] = product.id.int >> 64
        self.id_low[slot] = product.id.int & _UINT64
        self.name_length[slot] = name_length
        self.description_length[slot] = description_length
        self.name_key[slot] = name_key(sort_name)
        self.ids.append(product.id.int)
        self.prices.append(product.price)
        self.sort_names.append(sort_name)
        return slot

    def compact(self) -> npt.NDArray[np.int64]:
        """Drop dead slots; returns old slot -> new slot (valid for live slots)."""
        alive = self.alive[: self.size].copy()
        remap = np.cumsum(alive, dtype=np.int64) - 1
        live = int(alive.sum())
        for attribute in self._ARRAYS:
            column: npt.NDArray[Any] = getattr(self, attribute)
            kept = column[: self.size][alive]
            column[:live] = kept
            column[live:] = np.zeros(1, dtype=column.dtype)
        keep = alive.tolist()
        self.ids = [v for v, k in zip(self.ids, keep, strict=True) if k]
        self.prices = [v for v, k in zip(self.prices, keep, strict=True) if k]
        self.sort_names = [v for v, k in zip(self.sort_names, keep, strict=True) if k]
        self.size = live
        return remap
