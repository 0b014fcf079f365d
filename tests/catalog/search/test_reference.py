# ruff: noqa: RUF001 -- Russian test text is Cyrillic on purpose
"""The index against the brute-force reference on a generated bilingual corpus:
the same products, scores, orders and facet counts for many queries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from productstore_catalog.search import SearchQuery, SortBy
from tests.catalog.search.conftest import Indexes
from tests.catalog.search.support import all_hits, assert_matches_reference

QUERIES: list[str | None] = [
    None,
    "смартфоны",
    "running shoes",
    "shoes for running",
    "Crème",
    "creme brulee",
    "кофе в зёрнах",
    "черный",
    "ЧЁРНЫЙ",
    "runnign",
    "headphnes",
    "galaxy",
    "ноутбуки",
    "Наушники Sony",
    "для",
    "xyzzy",
    "   ",
    "!!!",
    "CAFÉ",
    "ёмкость",
    "usb-c",
    "смартфон с быстрой зарядкой",
]

FILTERS: list[dict[str, Any]] = [
    {},
    {"category": "smartphones"},
    {"category": "no-such-category"},
    {"min_price": Decimal("100"), "max_price": Decimal("5000")},
    {"min_price": Decimal("16.57")},  # a price in the corpus: inclusive bounds
    {"max_price": Decimal("16.57")},
    {"in_stock": True},
    {"in_stock": False},
    {"min_rating": 4.0},
    {"category": "coffee", "in_stock": True, "min_rating": 2.5, "max_price": Decimal("1500")},
]


@pytest.mark.parametrize("q", QUERIES)
@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "none")
def test_relevance_results_match_reference(
    corpus: Indexes, q: str | None, filters: dict[str, Any]
) -> None:
    query = SearchQuery(q=q, **filters)
    expected = corpus.reference.matches(query)
    result = corpus.index.search(SearchQuery(q=q, limit=10**6, **filters))
    assert result.total == len(expected)
    assert_matches_reference(result.hits, expected)


@pytest.mark.parametrize("q", [None, "смартфоны", "running shoes", "runnign", "CAFÉ", "черный"])
@pytest.mark.parametrize("sort_by", list(SortBy))
@pytest.mark.parametrize("filters", [{}, {"in_stock": True, "min_rating": 3.0}], ids=["all", "f"])
def test_every_sort_order_matches_reference(
    corpus: Indexes, q: str | None, sort_by: SortBy, filters: dict[str, Any]
) -> None:
    query = SearchQuery(q=q, sort_by=sort_by, **filters)
    expected = corpus.reference.matches(query)
    hits = all_hits(corpus.index, query)
    if sort_by is SortBy.relevance:
        assert_matches_reference(hits, expected)
    else:
        assert [h.id for h in hits] == [i for i, _ in expected]
        assert all((h.score is None) == (q is None or not q.strip("!")) for h in hits)


def test_corpus_queries_are_not_trivial(corpus: Indexes) -> None:
    """The tables above mean something only if queries match some but not all products."""
    for q in ["смартфоны", "running shoes", "Crème", "черный", "runnign", "CAFÉ"]:
        total = corpus.index.search(SearchQuery(q=q)).total
        assert 0 < total < len(corpus.products), q


@pytest.mark.parametrize("q", QUERIES)
@pytest.mark.parametrize("filters", FILTERS[:4] + FILTERS[6:8], ids=lambda f: ",".join(f) or "none")
def test_facets_match_reference(corpus: Indexes, q: str | None, filters: dict[str, Any]) -> None:
    query = SearchQuery(q=q, **filters)
    categories, buckets, in_stock = corpus.reference.facets(query)
    facets = corpus.index.search(query).facets
    assert facets.categories == categories
    assert facets.price == buckets
    assert facets.in_stock == in_stock
