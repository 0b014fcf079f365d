"""What the wishlist asks other services over HTTP: whether a product exists
(the catalog's public `GET /api/products/{id}`), and a cart write on the user's
behalf (the orders service's `PUT /api/cart/items/{id}`, with the user's own token,
so orders checks who it is and the cart stays the user's)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Self

import httpx

from productstore_common.catalog_client import CalleeUnavailable, read_product
from productstore_common.catalog_client import CatalogProduct as Product

__all__ = ["CalleeUnavailable", "Callees", "CartAnswer", "Product"]


@dataclass(frozen=True)
class CartAnswer:
    """What orders answered: the cart (200), or its status and problem detail."""

    status: int
    body: dict[str, Any]

    @property
    def detail(self) -> str:
        return str(self.body.get("detail") or f"the orders service answered {self.status}")


class Callees:
    def __init__(self, catalog_url: str, orders_url: str, *, timeout: float) -> None:
        self._catalog = httpx.AsyncClient(base_url=catalog_url.rstrip("/"), timeout=timeout)
        self._orders = httpx.AsyncClient(base_url=orders_url.rstrip("/"), timeout=timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._catalog.aclose()
        await self._orders.aclose()

    async def product(self, product_id: uuid.UUID) -> Product | None:
        """The catalog's product, or None if it has none by that id."""
        return await read_product(self._catalog, product_id)

    async def put_in_cart(self, token: str, product_id: uuid.UUID, quantity: int) -> CartAnswer:
        """Set the product's quantity in the token's user's cart."""
        try:
            response = await self._orders.put(
                f"/api/cart/items/{product_id}",
                json={"quantity": quantity},
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise CalleeUnavailable("orders", type(exc).__name__) from exc
        if response.status_code >= 500:
            raise CalleeUnavailable("orders", f"answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = {}
        return CartAnswer(response.status_code, body if isinstance(body, dict) else {})
