"""A product's public JSON document: the body of `GET /api/products/{id}`.

Encoded once per product version (when it is written, read from Cassandra or
loaded into the search index) and then served as bytes: from the Redis cache
for reads by id, from this replica's memory for search pages. It is exactly the
`ProductPublic` model's JSON (members in the model's order, prices as strings,
UTC times with `Z`); tests/catalog/data/test_documents.py holds the two together.
It also holds every field of a ProductRecord, so it decodes back into one.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from productstore_catalog.app.data.products import ProductRecord

__all__ = ["product_from_json", "product_json"]


def _time(value: datetime) -> str:
    # pydantic writes UTC as `Z`; records are always UTC (see clock.as_utc).
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def product_json(product: ProductRecord) -> bytes:
    return json.dumps(
        {
            "id": str(product.id),
            "name": product.name,
            "description": product.description,
            "category": product.category,
            "price": str(product.price),
            "currency": product.currency,
            "attributes": product.attributes,
            "image_urls": product.image_urls,
            "in_stock": product.in_stock,
            "rating": {"average": product.rating_average, "count": product.rating_count},
            "version": product.version,
            "created_at": _time(product.created_at),
            "updated_at": _time(product.updated_at),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def product_from_json(document: bytes | str) -> ProductRecord:
    """Raises ValueError, KeyError or TypeError for anything `product_json` did not write."""
    values: dict[str, Any] = json.loads(document)
    rating = values["rating"]
    return ProductRecord(
        id=uuid.UUID(values["id"]),
        name=values["name"],
        description=values["description"],
        category=values["category"],
        price=Decimal(values["price"]),
        currency=values["currency"],
        in_stock=bool(values["in_stock"]),
        version=int(values["version"]),
        created_at=datetime.fromisoformat(values["created_at"]),
        updated_at=datetime.fromisoformat(values["updated_at"]),
        attributes=dict(values["attributes"]),
        image_urls=list(values["image_urls"]),
        rating_average=rating["average"],
        rating_count=int(rating["count"]),
    )
