"""Writes: upsert replaces, remove forgets, versions make replays and reordering harmless,
compaction keeps results right."""

from __future__ import annotations

import dataclasses
import random

from productstore_catalog.demo import generate_products
from productstore_catalog.search import SearchIndex, SearchQuery
from tests.catalog.search.conftest import build, indexed
from tests.catalog.search.reference import Reference
from tests.catalog.search.support import all_hits, assert_matches_reference


def _ids(index: SearchIndex, q: str | None = None) -> set[object]:
    return {h.id for h in all_hits(index, SearchQuery(q=q))}


def test_upsert_replaces_and_remove_forgets() -> None:
    product = indexed(next(generate_products(1, seed=3)))
    index = SearchIndex()
    index.upsert(product)
    index.upsert(product)  # idempotent
    assert len(index) == 1
    renamed = dataclasses.replace(product, name="Aardvark Deluxe", description="")
    index.upsert(renamed)
    assert len(index) == 1
    assert _ids(index, "aardvark") == {product.id}
    assert _ids(index, product.name) == set()
    index.remove(product.id)
    index.remove(product.id)  # absent: no error
    assert len(index) == 0
    assert _ids(index) == set()
    assert _ids(index, "aardvark") == set()


def test_a_stale_upsert_is_ignored() -> None:
    product = indexed(next(generate_products(1, seed=3)), version=5)
    index = SearchIndex()
    index.upsert(product)
    index.upsert(dataclasses.replace(product, name="Stale Name", version=4))
    assert _ids(index, "stale") == set()
    index.upsert(dataclasses.replace(product, name="Fresh Name", version=6))
    assert _ids(index, "fresh") == {product.id}


def test_a_versioned_remove_leaves_a_tombstone() -> None:
    product = indexed(next(generate_products(1, seed=3)), version=5)
    index = SearchIndex()
    index.upsert(product)
    index.remove(product.id, version=7)
    index.upsert(dataclasses.replace(product, version=6))  # arrived late
    assert len(index) == 0
    index.remove(product.id, version=6)  # a late remove changes nothing either
    index.upsert(dataclasses.replace(product, name="Recreated", version=8))
    assert _ids(index, "recreated") == {product.id}
    index.remove(product.id, version=7)  # older than the upsert it would undo
    assert len(index) == 1


def test_an_unversioned_remove_forgets_the_version() -> None:
    product = indexed(next(generate_products(1, seed=3)), version=5)
    index = SearchIndex()
    index.upsert(product)
    index.remove(product.id)
    index.upsert(dataclasses.replace(product, version=1))
    assert len(index) == 1


def test_results_stay_right_through_many_writes_and_compactions() -> None:
    products = [indexed(p) for p in generate_products(1500, seed=11)]
    indexes = build(products)
    index, reference = indexes.index, Reference()
    rng = random.Random(11)  # noqa: S311 -- reproducible test data
    live = {p.id: p for p in products}
    # ~9000 replacements and removals: dead slots pile up past the compaction threshold
    for round_ in range(6):
        for product in list(live.values()):
            if rng.random() < 0.1:
                index.remove(product.id)
                del live[product.id]
            else:
                changed = dataclasses.replace(
                    product, name=f"{product.name} r{round_}", version=product.version + 1
                )
                index.upsert(changed)
                live[product.id] = changed
    for product in live.values():
        reference.upsert(product)
    assert len(index) == len(live)
    assert index._columns.size < 2 * len(live) + 4096  # compaction ran
    for q in [None, "смартфоны", "running shoes", "r5", "r0", "CAFÉ", "runnign"]:
        query = SearchQuery(q=q)
        assert_matches_reference(all_hits(index, query), reference.matches(query))
