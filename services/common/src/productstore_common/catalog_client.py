"""A product as the catalog's public `GET /api/products/{id}` shows it, for the
services that read prices and names at call time (orders' carts and checkout, the
wishlist's items), and the error that becomes their 503 when a callee fails."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import httpx


class CalleeUnavailable(Exception):  # noqa: N818 - names the 503 it becomes
    """A service the caller needs did not answer, or answered with a server error."""

    def __init__(self, callee: str, why: str) -> None:
        super().__init__(f"{callee}: {why}")
        self.callee = callee


@dataclass(frozen=True)
class CatalogProduct:
    product_id: uuid.UUID
    name: str
    price: Decimal
    currency: str
    in_stock: bool


async def read_product(catalog: httpx.AsyncClient, product_id: uuid.UUID) -> CatalogProduct | None:
    """The catalog's product (None when it has none by that id); raises
    CalleeUnavailable when the catalog cannot be reached or answers an error."""
    try:
        response = await catalog.get(f"/api/products/{product_id}")
    except httpx.HTTPError as exc:
        raise CalleeUnavailable("catalog", type(exc).__name__) from exc
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise CalleeUnavailable("catalog", f"answered {response.status_code}")
    body = response.json()
    return CatalogProduct(
        product_id=product_id,
        name=str(body["name"]),
        price=Decimal(str(body["price"])),
        currency=str(body["currency"]),
        in_stock=bool(body.get("in_stock", True)),
    )
