"""What orders reads from other services over HTTP: prices and names from the catalog
(`GET /api/products/{id}`, public), what can still be sold from inventory
(`GET /api/inventory/{id}`, public). Reads are concurrent and bounded by a timeout;
an unreachable catalog is a 503 of the request, an unreachable inventory only makes
availability unknown (a cart still shows, checkout still reserves for real)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from typing import Self

import httpx

from productstore_common.catalog_client import CalleeUnavailable, read_product
from productstore_common.catalog_client import CatalogProduct as ProductInfo

_logger = logging.getLogger(__name__)

__all__ = ["CalleeUnavailable", "ProductDirectory", "ProductInfo"]


class ProductDirectory:
    """Prices from the catalog and availability from inventory, read at call time."""

    def __init__(self, catalog_url: str, inventory_url: str, *, timeout: float) -> None:
        self._catalog = httpx.AsyncClient(base_url=catalog_url.rstrip("/"), timeout=timeout)
        self._inventory = httpx.AsyncClient(base_url=inventory_url.rstrip("/"), timeout=timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._catalog.aclose()
        await self._inventory.aclose()

    async def products(self, product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ProductInfo]:
        """The catalog's products among `product_ids` (a deleted one is missing)."""
        found = await asyncio.gather(*(self._product(p) for p in product_ids))
        return {info.product_id: info for info in found if info is not None}

    async def _product(self, product_id: uuid.UUID) -> ProductInfo | None:
        return await read_product(self._catalog, product_id)

    async def available(self, product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int | None]:
        """Units inventory can sell now per product (0 without a stock record; None
        when inventory did not answer)."""
        ids = list(product_ids)
        found = await asyncio.gather(*(self._available(p) for p in ids))
        return dict(zip(ids, found, strict=True))

    async def _available(self, product_id: uuid.UUID) -> int | None:
        try:
            response = await self._inventory.get(f"/api/inventory/{product_id}")
        except httpx.HTTPError as exc:
            _logger.warning("inventory unreachable: %s", type(exc).__name__)
            return None
        if response.status_code == 404:
            return 0
        if response.status_code != 200:
            _logger.warning("inventory answered %s", response.status_code)
            return None
        return int(response.json()["available"])
