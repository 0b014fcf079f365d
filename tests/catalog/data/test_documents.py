"""The product document (data.documents) is exactly ProductPublic's JSON, the body
that reads by id and search pages serve from bytes, and decodes back to the record."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from productstore_catalog.app.api.routes.convert import product_public
from productstore_catalog.app.data.documents import product_from_json, product_json
from productstore_catalog.app.data.products import ProductRecord
from productstore_catalog.app.models import ProductPublic

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


@pytest.mark.parametrize("product", PRODUCTS)
def test_the_document_is_the_public_models_json(product: ProductRecord) -> None:
    assert product_json(product) == product_public(product).model_dump_json().encode()
    assert ProductPublic.model_validate_json(product_json(product)) == product_public(product)


@pytest.mark.parametrize("product", PRODUCTS)
def test_the_document_decodes_to_the_record(product: ProductRecord) -> None:
    assert product_from_json(product_json(product)) == product


@pytest.mark.parametrize(
    "document", [b"not json", b"{}", b'{"id": "x"}', b"[1, 2]", b'{"rating": null}']
)
def test_other_documents_are_refused(document: bytes) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        product_from_json(document)
