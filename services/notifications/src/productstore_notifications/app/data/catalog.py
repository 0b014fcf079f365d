"""Product names from the catalog (its public `GET /api/products/{id}`), for messages
whose event names a product by id only: wishlist notices, stock crossings.

A name is a nicety, not a reason to hold a message back: when the catalog has no such
product or cannot be reached, the answer is None and the message shows the product's
short reference. Names are kept for `ttl_seconds` (a price drop's fan-out to thousands
of wishlists asks the catalog once, not once per notice).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Self

import httpx

from productstore_common.catalog_client import CalleeUnavailable, read_product

_logger = logging.getLogger(__name__)


class ProductNames:
    def __init__(
        self,
        catalog_url: str,
        *,
        timeout: float,
        ttl_seconds: float = 60.0,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = httpx.AsyncClient(base_url=catalog_url.rstrip("/"), timeout=timeout)
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._known: OrderedDict[uuid.UUID, tuple[float, str | None]] = OrderedDict()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def name(self, product_id: uuid.UUID) -> str | None:
        """The product's name, or None (no such product, or the catalog did not answer)."""
        now = self._clock()
        known = self._known.get(product_id)
        if known is not None and now - known[0] < self._ttl:
            return known[1]
        try:
            product = await read_product(self._http, product_id)
        except CalleeUnavailable as exc:
            # Not remembered: the next message asks again.
            _logger.warning(
                "no product name from the catalog",
                extra={"product_id": str(product_id), "error": str(exc)},
            )
            return None
        found = product.name if product is not None else None
        self._known[product_id] = (now, found)
        self._known.move_to_end(product_id)
        while len(self._known) > self._max:
            self._known.popitem(last=False)
        return found
