"""Keyset pagination: pages concatenate to the full order, with no repeats or gaps,
also when products change between pages."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal
from uuid import UUID

import pytest

from productstore_catalog.demo import generate_products
from productstore_catalog.search import IndexedProduct, SearchQuery, SortBy
from tests.catalog.search.conftest import Indexes, build, indexed
from tests.catalog.search.support import all_hits, walk

CASES = [
    (None, SortBy.relevance, {}),
    (None, SortBy.name, {}),
    ("смартфоны", SortBy.relevance, {}),
    ("running shoes", SortBy.relevance, {"in_stock": True}),
    ("runnign", SortBy.relevance, {}),
    ("черный", SortBy.price_asc, {}),
    ("CAFÉ", SortBy.price_desc, {}),
    (None, SortBy.rating, {"category": "books"}),
    (None, SortBy.newest, {"min_price": Decimal("500")}),
    ("galaxy", SortBy.name, {}),
]


@pytest.mark.parametrize("limit", [3, 20, 100])
@pytest.mark.parametrize(("q", "sort_by", "filters"), CASES)
def test_pages_concatenate_to_the_full_order(
    corpus: Indexes, q: str | None, sort_by: SortBy, filters: dict[str, object], limit: int
) -> None:
    query = SearchQuery(q=q, sort_by=sort_by, **filters)  # type: ignore[arg-type]
    everything = all_hits(corpus.index, query)
    assert len(everything) > 3  # else this proves little
    pages = walk(corpus.index, query, limit)
    assert [h.id for h in pages] == [h.id for h in everything]
    assert pages == everything  # the same scores too


def test_single_hit_pages(corpus: Indexes) -> None:
    query = SearchQuery(q="headphnes", category="headphones", in_stock=False)
    everything = all_hits(corpus.index, query)
    assert 1 < len(everything) < 200
    assert walk(corpus.index, query, 1) == everything


def test_the_page_size_may_change_between_pages(corpus: Indexes) -> None:
    query = SearchQuery(q="смартфоны", sort_by=SortBy.price_asc)
    first = corpus.index.search(dataclasses.replace(query, limit=5))
    second = corpus.index.search(dataclasses.replace(query, limit=11, cursor=first.next_cursor))
    assert [h.id for h in first.hits + second.hits] == [
        h.id for h in all_hits(corpus.index, query)[:16]
    ]


def test_last_page_has_no_cursor(corpus: Indexes) -> None:
    total = corpus.index.search(SearchQuery(q="galaxy")).total
    exact = corpus.index.search(SearchQuery(q="galaxy", limit=total))
    assert len(exact.hits) == total
    assert exact.next_cursor is None
    assert corpus.index.search(SearchQuery(q="xyzzy")).next_cursor is None


def _changed(product: IndexedProduct, rng: random.Random) -> IndexedProduct:
    change = rng.choice(["price", "name", "stock", "rating"])
    version = product.version + 1
    if change == "price":
        price = (product.price * Decimal(rng.choice(["0.5", "1.5", "3"]))).quantize(Decimal("0.01"))
        return dataclasses.replace(product, price=price, version=version)
    if change == "name":
        name = rng.choice(["Смартфон Nova", "Running Shoe Zoom", "Café Crème", "Aardvark"])
        return dataclasses.replace(product, name=name, version=version)
    if change == "stock":
        return dataclasses.replace(product, in_stock=not product.in_stock, version=version)
    return dataclasses.replace(product, rating=rng.choice([None, 1.0, 5.0]), version=version)


@pytest.mark.parametrize(("q", "sort_by", "filters"), CASES)
@pytest.mark.parametrize("seed", [1, 2])
def test_writes_between_pages_never_skip_or_repeat_unchanged_products(
    q: str | None, sort_by: SortBy, filters: dict[str, object], seed: int
) -> None:
    indexes = build([indexed(p) for p in generate_products(600, seed=seed)])
    index = indexes.index
    current = {p.id: p for p in indexes.products}
    query = SearchQuery(q=q, sort_by=sort_by, **filters)  # type: ignore[arg-type]
    before = [h.id for h in all_hits(index, query)]
    assert len(before) > 6
    rng = random.Random(seed)  # noqa: S311 -- reproducible test data
    touched: set[UUID] = set()
    extra = generate_products(200, seed=seed + 100)
    seen: list[UUID] = []
    cursor: str | None = None
    for _ in range(1000):
        page = index.search(dataclasses.replace(query, limit=4, cursor=cursor))
        seen.extend(h.id for h in page.hits)
        cursor = page.next_cursor
        if cursor is None:
            break
        for _ in range(3):  # writes anywhere in the catalog, including already seen products
            action = rng.random()
            victim = rng.choice(sorted(current))
            if action < 0.6:
                current[victim] = _changed(current[victim], rng)
                index.upsert(current[victim])
                touched.add(victim)
            elif action < 0.8:
                index.remove(victim)
                del current[victim]
                touched.add(victim)
            else:
                fresh = indexed(next(extra))
                current[fresh.id] = fresh
                index.upsert(fresh)
                touched.add(fresh.id)
    else:
        raise AssertionError("pagination did not end")
    assert touched
    unchanged = [product_id for product_id in before if product_id not in touched]
    assert unchanged
    # every unchanged match shows up exactly once, in the order the first page promised
    assert [product_id for product_id in seen if product_id in set(unchanged)] == unchanged
    assert all(product_id in current for product_id in seen if product_id not in touched)
