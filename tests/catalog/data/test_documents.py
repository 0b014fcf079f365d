"""The bodies of data.documents are exactly their API models' JSON, as FastAPI would
send them: a product document is ProductPublic's (the body reads by id and search
pages serve from bytes) and decodes back to the record; a listing is ProductsPage's,
a search page SearchPage's."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.encoders import jsonable_encoder
from starlette.responses import JSONResponse

from productstore_catalog.app.data.documents import (
    product_from_json,
    product_json,
    products_page_json,
    search_page_json,
)
from productstore_catalog.app.data.products import ProductRecord
from productstore_catalog.app.models import (
    FacetsPublic,
    PriceBucketPublic,
    ProductPublic,
    ProductsPage,
    Rating,
    SearchItem,
    SearchPage,
)
from productstore_catalog.search import Facets, PriceBucket

_BASE = ProductRecord(
    id=uuid.UUID("5f0c6a4e-6f1e-4d4b-9a57-2d0f6f7f3c11"),
    name='Чайник "Север" \\ 1,7 л',
    description="Line one\nline two\ttab \u2028 and a control \x01 char",
    category="kitchen",
    price=Decimal("1990.50"),
    currency="RUB",
    in_stock=True,
    version=1764165600123456,
    created_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    updated_at=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
    attributes={"цвет": "чёрный", "volume": "1.7"},
    image_urls=["https://img.example.com/a.jpg"],
    rating_average=4.25,
    rating_count=12,
)

PRODUCTS = [
    _BASE,
    replace(_BASE, rating_average=None, rating_count=0, attributes={}, image_urls=[]),
    replace(_BASE, price=Decimal("1E+2"), currency="JPY", in_stock=False, description=""),
    replace(_BASE, price=Decimal("0.10"), created_at=datetime(2026, 1, 1, tzinfo=UTC)),
]


FACETS = Facets(
    categories={"kitchen": 3, "чай": 1},
    price=[
        PriceBucket(min=None, max=Decimal("10"), count=0),
        PriceBucket(min=Decimal("10"), max=Decimal("1E+2"), count=2),
        PriceBucket(min=Decimal("1E+2"), max=None, count=2),
    ],
    in_stock={"true": 3, "false": 1},
)
SCORES = [12.5, None, 0.1 + 0.2, 1e-7]


def _public(product: ProductRecord) -> ProductPublic:
    """The record as the API model, field by field: what the documents must encode."""
    return ProductPublic(
        id=product.id,
        name=product.name,
        description=product.description,
        category=product.category,
        price=product.price,
        currency=product.currency,
        attributes=product.attributes,
        image_urls=product.image_urls,
        in_stock=product.in_stock,
        rating=Rating(average=product.rating_average, count=product.rating_count),
        version=product.version,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


def _as_fastapi_sends(model: ProductPublic | ProductsPage | SearchPage) -> bytes:
    # A route returning the model: encoded to JSON types, then JSONResponse's json.dumps.
    return bytes(JSONResponse(jsonable_encoder(model)).body)


@pytest.mark.parametrize("product", PRODUCTS)
def test_the_document_is_the_public_models_json(product: ProductRecord) -> None:
    assert product_json(product) == _as_fastapi_sends(_public(product))
    assert product_json(product) == _public(product).model_dump_json().encode()
    assert ProductPublic.model_validate_json(product_json(product)) == _public(product)


@pytest.mark.parametrize(("products", "next_cursor"), [(PRODUCTS, "eyJhIjoxfQ"), ([], None)])
def test_a_listing_is_the_products_pages_json(
    products: list[ProductRecord], next_cursor: str | None
) -> None:
    page = ProductsPage(items=[_public(p) for p in products], next_cursor=next_cursor)
    assert products_page_json(products, next_cursor) == _as_fastapi_sends(page)


@pytest.mark.parametrize(
    ("products", "next_cursor"), [(PRODUCTS, "c2VhcmNo.sig"), (PRODUCTS[:1], None), ([], None)]
)
def test_a_search_page_is_the_search_pages_json(
    products: list[ProductRecord], next_cursor: str | None
) -> None:
    scored = list(zip(products, SCORES, strict=False))
    page = SearchPage(
        items=[SearchItem(**_public(p).model_dump(), score=score) for p, score in scored],
        total=41,
        facets=FacetsPublic(
            categories=FACETS.categories,
            price=[PriceBucketPublic(min=b.min, max=b.max, count=b.count) for b in FACETS.price],
            in_stock=FACETS.in_stock,
        ),
        next_cursor=next_cursor,
    )
    items = [(product_json(p), score) for p, score in scored]
    body = search_page_json(items, total=41, facets=FACETS, next_cursor=next_cursor)
    assert body == _as_fastapi_sends(page)


@pytest.mark.parametrize("product", PRODUCTS)
def test_the_document_decodes_to_the_record(product: ProductRecord) -> None:
    assert product_from_json(product_json(product)) == product


@pytest.mark.parametrize(
    "document", [b"not json", b"{}", b'{"id": "x"}', b"[1, 2]", b'{"rating": null}']
)
def test_other_documents_are_refused(document: bytes) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        product_from_json(document)
