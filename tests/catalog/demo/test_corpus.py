"""The demo corpus: deterministic, bilingual, and full of what search must handle."""

from __future__ import annotations

from productstore_catalog.demo import CATEGORIES, generate_products


def test_the_same_seed_gives_the_same_products() -> None:
    assert list(generate_products(300, seed=5)) == list(generate_products(300, seed=5))
    assert list(generate_products(50, seed=5)) != list(generate_products(50, seed=6))


def test_products_are_valid_and_varied() -> None:
    products = list(generate_products(2000))
    slugs = {c.slug for c in CATEGORIES}
    assert {p.category for p in products} == slugs
    assert len({p.id for p in products}) == len(products)
    assert {p.language for p in products} == {"ru", "en"}
    assert {p.currency for p in products} == {"RUB", "USD"}
    assert all(p.price > 0 and p.price == p.price.quantize(p.price) for p in products)
    assert all(p.name and p.description and p.image_urls for p in products)
    assert all(p.rating is None or 1.0 <= p.rating <= 5.0 for p in products)
    assert all(p.created_at.tzinfo is not None for p in products)
    assert any(p.rating is None for p in products)
    assert any(not p.in_stock for p in products)
    assert any(p.attributes for p in products)


def test_the_text_exercises_search() -> None:
    text = " ".join(f"{p.name} {p.description}" for p in generate_products(2000))
    for needle in ["Café", "Crème", "ё", "Смартфон", "Смартфоны", "Running Shoe", "Shoes"]:
        assert needle in text, needle
