"""The catalog's JSON bodies: a product's public document (the body of
`GET /api/products/{id}` and of writes), and the pages built from documents
(product listings, search pages). The one module that knows how a product is
encoded.

A document is encoded once per product version (when it is written, read from
Cassandra or loaded into the search index) and then served as bytes: from the
Redis cache for reads by id, from this replica's memory for search pages, which
splice the documents as they are (`{...document, "score": s}`): no per-item model
to build, validate and encode. Every body is exactly its API model's JSON
(`ProductPublic`, `ProductsPage`, `SearchPage`: members in the model's order,
prices as strings, UTC times with `Z`, as FastAPI would send it);
tests/catalog/data/test_documents.py holds them together. A document also holds
every field of a ProductRecord, so it decodes back into one.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from productstore_catalog.app.data.products import ProductRecord
from productstore_catalog.search import Facets

__all__ = ["product_from_json", "product_json", "products_page_json", "search_page_json"]


# json.dumps with options builds an encoder per call; this one is made once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json(value: object) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")


def _time(value: datetime) -> str:
    # pydantic writes UTC as `Z`; records are always UTC (see clock.as_utc).
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def product_json(product: ProductRecord) -> bytes:
    return _json(
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
        }
    )


def products_page_json(products: list[ProductRecord], next_cursor: str | None) -> bytes:
    """ProductsPage's JSON."""
    return b"".join(
        (
            b'{"items":[',
            b",".join(product_json(product) for product in products),
            b'],"next_cursor":',
            _json(next_cursor),
            b"}",
        )
    )


def search_page_json(
    items: list[tuple[bytes, float | None]],
    *,
    total: int,
    facets: Facets,
    next_cursor: str | None,
) -> bytes:
    """SearchPage's JSON; `items` are the hits' documents and scores, in order."""
    facets_json = {
        "categories": facets.categories,
        "price": [
            {
                "min": _decimal(bucket.min),
                "max": _decimal(bucket.max),
                "count": bucket.count,
            }
            for bucket in facets.price
        ],
        "in_stock": facets.in_stock,
    }
    return b"".join(
        (
            b'{"items":[',
            b",".join(
                document[:-1] + b',"score":' + _json(score) + b"}" for document, score in items
            ),
            b'],"total":',
            b"%d" % total,
            b',"facets":',
            _json(facets_json),
            b',"next_cursor":',
            _json(next_cursor),
            b"}",
        )
    )


def _decimal(value: Decimal | None) -> str | None:
    # pydantic writes a Decimal as its str().
    return None if value is None else str(value)


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
