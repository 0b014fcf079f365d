"""Demo data: a deterministic bilingual product corpus for `make up` and benchmarks."""

from productstore_catalog.demo.corpus import CATEGORIES, Category, DemoProduct, generate_products

__all__ = ["CATEGORIES", "Category", "DemoProduct", "generate_products"]
