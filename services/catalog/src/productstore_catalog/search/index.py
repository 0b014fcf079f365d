"""The in-memory search index: a product's write shows in the next search.

Not thread-safe: the service calls it from its one event loop thread.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from uuid import UUID

import numpy as np
import numpy.typing as npt

from productstore_catalog.search import cursor as cursors
from productstore_catalog.search.analysis import query_words, words
from productstore_catalog.search.columns import PRICE_EDGES, Columns
from productstore_catalog.search.cursor import CorpusStats, Position
from productstore_catalog.search.model import (
    Facets,
    IndexedProduct,
    InvalidCursor,
    PriceBucket,
    SearchHit,
    SearchQuery,
    SearchResult,
    SortBy,
)
from productstore_catalog.search.paging import Page, next_page
from productstore_catalog.search.ranking import Occurrences, WordMatch, scores
from productstore_catalog.search.vocabulary import Vocabulary

# Compaction rewrites every array; do it when dead slots outnumber live ones
# (amortized O(1) per write), but not for a handful.
_MIN_DEAD_TO_COMPACT = 4096
DEFAULT_CURSOR_KEY = b"productstore-catalog-search-cursor"

BoolArray = npt.NDArray[np.bool_]


class SearchIndex:
    """Full-text search, filters, facets and keyset pagination over products."""

    def __init__(self, *, cursor_key: bytes = DEFAULT_CURSOR_KEY) -> None:
        self._cursor_key = cursor_key
        self._columns = Columns()
        self._vocabulary = Vocabulary()
        self._slots: dict[int, int] = {}  # product id (as int) -> its live slot
        # last version seen per id, kept after a versioned remove as a tombstone
        self._versions: dict[int, int] = {}
        self._name_length_sum = 0.0
        self._description_length_sum = 0.0

    def __len__(self) -> int:
        return len(self._slots)

    def upsert(self, product: IndexedProduct) -> None:
        """Insert or replace by id; a product older than the one held is ignored."""
        key = product.id.int
        known = self._versions.get(key)
        if known is not None and product.version < known:
            return
        self._versions[key] = product.version
        self._forget(key)
        name_words, description_words = words(product.name), words(product.description)
        slot = self._columns.append(product, len(name_words), len(description_words))
        self._vocabulary.add_document(slot, name_words, description_words)
        self._slots[key] = slot
        self._name_length_sum += len(name_words)
        self._description_length_sum += len(description_words)

    def remove(self, product_id: UUID, version: int | None = None) -> None:
        """Remove by id (no error if absent). With a version, upserts older than it stay ignored."""
        if version is not None:
            known = self._versions.get(product_id.int)
            if known is not None and version < known:
                return
            self._versions[product_id.int] = version
        else:
            self._versions.pop(product_id.int, None)
        self._forget(product_id.int)

    def _forget(self, key: int) -> None:
        slot = self._slots.pop(key, None)
        if slot is None:
            return
        columns = self._columns
        columns.alive[slot] = False
        self._name_length_sum -= float(columns.name_length[slot])
        self._description_length_sum -= float(columns.description_length[slot])
        dead = columns.size - len(self._slots)
        if dead >= _MIN_DEAD_TO_COMPACT and dead > len(self._slots):
            self._compact()

    def _compact(self) -> None:
        alive = self._columns.alive[: self._columns.size].copy()
        remap = self._columns.compact()
        self._vocabulary.compact(remap, alive)
        self._slots = {key: slot for slot, key in enumerate(self._columns.ids)}

    def search(self, query: SearchQuery) -> SearchResult:
        """One page of the query's results, with the total and facets of all of them.

        Raises InvalidCursor for a cursor this index's key did not sign or that was
        issued for another query, ValueError for a limit below 1.
        """
        if query.limit < 1:
            raise ValueError(f"limit must be at least 1, got {query.limit}")
        # a plain "price_asc" str is fine too; the code below compares with `is`
        query = dataclasses.replace(query, sort_by=SortBy(query.sort_by))
        position = (
            None if query.cursor is None else cursors.decode(self._cursor_key, query, query.cursor)
        )
        columns = self._columns
        mask = self._filter(query)
        query_text = query_words(query.q) if query.q else []
        matches = [self._match(word) for word in query_text]
        for match in matches:
            mask &= match.any()
        candidates = np.flatnonzero(mask)
        relevance: npt.NDArray[np.float64] | None = None
        stats: CorpusStats | None = None
        if matches:
            # Relevance pages score with the first page's corpus statistics (kept in the
            # cursor), so writes between pages cannot reorder unchanged products.
            ranked = query.sort_by is SortBy.relevance
            stats = position.stats if ranked and position is not None else self._stats(matches)
            if stats is None or len(stats.document_frequencies) != len(matches):
                raise InvalidCursor("cursor does not fit this query")
            relevance = scores(
                candidates, matches, columns.name_length, columns.description_length, stats
            )
        page = next_page(
            columns,
            candidates,
            relevance,
            sort_by=query.sort_by,
            limit=query.limit,
            position=position,
        )
        return SearchResult(
            hits=[
                SearchHit(UUID(int=columns.ids[slot]), None if relevance is None else score)
                for slot, score in zip(page.slots, page.scores, strict=True)
            ],
            total=len(candidates),
            facets=self._facets(candidates),
            next_cursor=self._next_cursor(
                query, page, stats if query.sort_by is SortBy.relevance else None
            ),
        )

    def _next_cursor(self, query: SearchQuery, page: Page, stats: CorpusStats | None) -> str | None:
        if page.last_key is None or not page.slots:
            return None
        last = Position(page.last_key, UUID(int=self._columns.ids[page.slots[-1]]), stats)
        return cursors.encode(self._cursor_key, query, last)

    def _filter(self, query: SearchQuery) -> BoolArray:
        columns = self._columns
        size = columns.size
        mask = columns.alive[:size].copy()
        if query.category is not None:
            code = columns.category_codes.get(query.category)
            if code is None:
                mask[:] = False
            else:
                mask &= columns.category[:size] == code
        prices = columns.price[:size]
        if query.min_price is not None:
            mask &= prices >= float(query.min_price)
            self._exact_price_bound(mask, query.min_price, lower=True)
        if query.max_price is not None:
            mask &= prices <= float(query.max_price)
            self._exact_price_bound(mask, query.max_price, lower=False)
        if query.in_stock is not None:
            mask &= columns.in_stock[:size] == query.in_stock
        if query.min_rating is not None:
            mask &= columns.rating[:size] >= query.min_rating  # NaN (unrated) never passes
        return mask

    def _exact_price_bound(self, mask: BoolArray, bound: Decimal, *, lower: bool) -> None:
        """Floats round: recheck, with Decimals, the few prices equal to the bound as floats."""
        columns = self._columns
        for slot in np.flatnonzero(mask & (columns.price[: columns.size] == float(bound))):
            price = columns.prices[slot]
            if (price < bound) if lower else (price > bound):
                mask[slot] = False

    def _match(self, query_word: str) -> WordMatch:
        vocabulary = self._vocabulary
        typo_words = vocabulary.typos(query_word)
        return WordMatch(
            self._occurrences(vocabulary.exact(query_word)),
            self._occurrences(typo_words) if typo_words else None,
        )

    def _occurrences(self, words: list[str]) -> Occurrences:
        size, alive = self._columns.size, self._columns.alive[: self._columns.size]
        found = np.zeros(size, dtype=np.bool_)
        name, description = np.zeros(size), np.zeros(size)
        for word in words:
            # a word holds each slot once, so fancy-index += adds correctly
            slots, name_tf, description_tf = self._vocabulary.occurrences(word)
            found[slots] = True
            name[slots] += name_tf
            description[slots] += description_tf
        found &= alive
        return Occurrences(found, name, description)

    def _stats(self, matches: list[WordMatch]) -> CorpusStats:
        live = len(self._slots)
        return CorpusStats(
            documents=live,
            mean_name_length=max(1.0, self._name_length_sum / live) if live else 1.0,
            mean_description_length=(
                max(1.0, self._description_length_sum / live) if live else 1.0
            ),
            document_frequencies=tuple(match.frequencies() for match in matches),
        )

    def _facets(self, candidates: npt.NDArray[np.int64]) -> Facets:
        columns = self._columns
        slugs = columns.category_slugs
        category_counts = np.bincount(columns.category[candidates], minlength=len(slugs))
        categories = {
            slugs[code]: int(count)
            for code, count in sorted(
                enumerate(category_counts), key=lambda c: (-c[1], slugs[c[0]])
            )
            if count
        }
        buckets = np.bincount(columns.price_bucket[candidates], minlength=len(PRICE_EDGES) + 1)
        bounds = (None, *PRICE_EDGES, None)
        in_stock = int(np.count_nonzero(columns.in_stock[candidates]))
        return Facets(
            categories=categories,
            price=[
                PriceBucket(bounds[i], bounds[i + 1], int(count)) for i, count in enumerate(buckets)
            ],
            in_stock={"true": in_stock, "false": len(candidates) - in_stock},
        )
