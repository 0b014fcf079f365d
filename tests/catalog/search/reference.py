"""A brute-force search written from the specification, to check the index against.

Slow and obviously correct: every query looks at every product. It shares only
the text analysis (normalize, split, stem; tested on its own) and the BM25F
constants with the index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from uuid import UUID

from productstore_catalog.search import IndexedProduct, PriceBucket, SearchQuery, SortBy
from productstore_catalog.search.analysis import query_words, stem, words
from productstore_catalog.search.ranking import (
    DESCRIPTION_WEIGHT,
    K1,
    NAME_WEIGHT,
    TYPO_WEIGHT,
    B,
)

PRICE_EDGES = [Decimal(e) for e in (10, 50, 100, 500, 1000, 5000, 10000, 50000)]


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions)."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


@dataclass(frozen=True)
class _Doc:
    product: IndexedProduct
    name_words: list[str]
    description_words: list[str]


def _is_typo(query_word: str, word: str) -> bool:
    return (
        len(query_word) >= 5
        and stem(word) != stem(query_word)
        and edit_distance(query_word, word) <= 1
    )


class Reference:
    def __init__(self) -> None:
        self.docs: dict[UUID, _Doc] = {}
        self._typo_cache: dict[tuple[str, str], bool] = {}
        self._counts_cache: dict[tuple[str, bool, UUID], tuple[int, int]] = {}

    def upsert(self, product: IndexedProduct) -> None:
        self.docs[product.id] = _Doc(product, words(product.name), words(product.description))
        self._counts_cache.clear()

    def remove(self, product_id: UUID) -> None:
        self.docs.pop(product_id, None)
        self._counts_cache.clear()

    def _typo(self, query_word: str, word: str) -> bool:
        key = (query_word, word)
        if key not in self._typo_cache:
            self._typo_cache[key] = _is_typo(query_word, word)
        return self._typo_cache[key]

    def _passes_filters(self, product: IndexedProduct, query: SearchQuery) -> bool:
        return (
            (query.category is None or product.category == query.category)
            and (query.min_price is None or product.price >= query.min_price)
            and (query.max_price is None or product.price <= query.max_price)
            and (query.in_stock is None or product.in_stock == query.in_stock)
            and (
                query.min_rating is None
                or (product.rating is not None and product.rating >= query.min_rating)
            )
        )

    def _counts(self, doc: _Doc, query_word: str, typo: bool) -> tuple[int, int]:
        key = (query_word, typo, doc.product.id)
        if key not in self._counts_cache:
            self._counts_cache[key] = self._count(doc, query_word, typo)
        return self._counts_cache[key]

    def _count(self, doc: _Doc, query_word: str, typo: bool) -> tuple[int, int]:
        def hit(word: str) -> bool:
            if typo:
                return self._typo(query_word, word)
            return stem(word) == stem(query_word)

        return (
            sum(1 for w in doc.name_words if hit(w)),
            sum(1 for w in doc.description_words if hit(w)),
        )

    def matches(self, query: SearchQuery) -> list[tuple[UUID, float | None]]:
        """Every matching product with its score, in the query's order."""
        query_text = query_words(query.q) if query.q else []
        docs = list(self.docs.values())
        n = len(docs)
        mean_name = max(1.0, sum(len(d.name_words) for d in docs) / n) if n else 1.0
        mean_desc = max(1.0, sum(len(d.description_words) for d in docs) / n) if n else 1.0
        counts = {
            (w, typo, d.product.id): self._counts(d, w, typo)
            for w in query_text
            for typo in (False, True)
            for d in docs
        }
        df = {
            (w, typo): sum(1 for d in docs if sum(counts[w, typo, d.product.id]) > 0)
            for w in query_text
            for typo in (False, True)
        }

        def contribution(w: str, typo: bool, doc: _Doc) -> float:
            name_tf, description_tf = counts[w, typo, doc.product.id]
            weighted = NAME_WEIGHT * name_tf / (
                1 - B + B * len(doc.name_words) / mean_name
            ) + DESCRIPTION_WEIGHT * description_tf / (
                1 - B + B * len(doc.description_words) / mean_desc
            )
            frequency = df[w, typo]
            idf = math.log(1 + (n - frequency + 0.5) / (frequency + 0.5))
            return (TYPO_WEIGHT if typo else 1.0) * idf * weighted / (K1 + weighted)

        results: list[tuple[UUID, float | None]] = []
        for doc in docs:
            if not self._passes_filters(doc.product, query):
                continue
            exact_words, total, matched = 0, 0.0, True
            for w in query_text:
                if sum(counts[w, False, doc.product.id]) > 0:
                    exact_words += 1
                    total += contribution(w, False, doc)
                elif sum(counts[w, True, doc.product.id]) > 0:
                    total += contribution(w, True, doc)
                else:
                    matched = False
                    break
            if matched:
                score = exact_words + total / (1 + total) if query_text else None
                results.append((doc.product.id, score))
        by_id = {doc.product.id: doc.product for doc in docs}
        results.sort(key=lambda hit: (_sort_key(by_id[hit[0]], hit[1], query.sort_by), hit[0]))
        return results

    def facets(
        self, query: SearchQuery
    ) -> tuple[dict[str, int], list[PriceBucket], dict[str, int]]:
        products = [self.docs[i].product for i, _ in self.matches(query)]
        categories: dict[str, int] = {}
        for p in products:
            categories[p.category] = categories.get(p.category, 0) + 1
        bounds: list[Decimal | None] = [None, *PRICE_EDGES, None]
        buckets = [
            PriceBucket(
                low,
                high,
                sum(
                    1
                    for p in products
                    if (low is None or p.price >= low) and (high is None or p.price < high)
                ),
            )
            for low, high in pairwise(bounds)
        ]
        in_stock = sum(1 for p in products if p.in_stock)
        return categories, buckets, {"true": in_stock, "false": len(products) - in_stock}


def _sort_key(product: IndexedProduct, score: float | None, sort_by: SortBy) -> tuple[object, ...]:
    newest = -product.created_at.timestamp()
    if sort_by is SortBy.relevance:
        return (-score,) if score is not None else (newest,)
    if sort_by is SortBy.price_asc:
        return (product.price,)
    if sort_by is SortBy.price_desc:
        return (-product.price,)
    if sort_by is SortBy.rating:
        return (product.rating is None, -(product.rating or 0.0))
    if sort_by is SortBy.newest:
        return (newest,)
    return (product.name.casefold(),)
