"""A bilingual corpus indexed twice: by the search index and by the brute-force reference."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from productstore_catalog.demo import DemoProduct, generate_products
from productstore_catalog.search import IndexedProduct, SearchIndex
from tests.catalog.search.reference import Reference

CORPUS_SIZE = 1500


def indexed(product: DemoProduct, version: int = 0) -> IndexedProduct:
    return IndexedProduct(
        id=product.id,
        name=product.name,
        description=product.description,
        category=product.category,
        price=product.price,
        currency=product.currency,
        in_stock=product.in_stock,
        rating=product.rating,
        created_at=product.created_at,
        version=version,
    )


@dataclass
class Indexes:
    index: SearchIndex
    reference: Reference
    products: list[IndexedProduct]


def build(products: list[IndexedProduct]) -> Indexes:
    index, reference = SearchIndex(), Reference()
    for product in products:
        index.upsert(product)
        reference.upsert(product)
    return Indexes(index, reference, products)


@pytest.fixture(scope="session")
def corpus() -> Indexes:
    """Shared and read-only: tests that write build their own."""
    return build([indexed(p) for p in generate_products(CORPUS_SIZE, seed=7)])
