"""Checkout and the order reads: an order is created `pending` with its OrderPlaced
event in one write, under the user's Idempotency-Key; inventory's answer moves it on
(services.lifecycle)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from productstore_contracts.events.orders import OrderLine, OrderPlaced
from productstore_orders.app.core import errors
from productstore_orders.app.data.carts import CartStore
from productstore_orders.app.data.orders import LineRecord, OrderRecord, OrderStore
from productstore_orders.app.data.products import CalleeUnavailable, ProductDirectory
from productstore_orders.app.models import OrderCreate
from productstore_orders.app.services.lifecycle import order_event
from productstore_orders.app.services.metrics import OrderMetrics


def request_hash(body: OrderCreate) -> str:
    """What makes two checkouts the same request (the body, canonically)."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Checkout:
    def __init__(
        self,
        store: OrderStore,
        carts: CartStore,
        directory: ProductDirectory,
        metrics: OrderMetrics,
        *,
        max_quantity: int,
    ) -> None:
        self.store = store
        self.carts = carts
        self.directory = directory
        self.metrics = metrics
        self.max_quantity = max_quantity

    async def place(self, user_id: uuid.UUID, key: str, body: OrderCreate) -> OrderRecord:
        """The order of this key: made now, or found (same body), or 409 (another body).

        The request is checked (products, currency, quantities) before the key is
        claimed, so a refused checkout leaves the key free for a corrected one."""
        started = datetime.now(UTC)
        digest = request_hash(body)
        replay = False
        try:
            lines, currency, from_cart = await self._priced_lines(user_id, body)
            claim = await self.store.claim(user_id, key, digest, started)
            replay = not claim.new and claim.request_hash == digest
        finally:
            # Refused checkouts started too (an empty cart, a product gone); the
            # client's retry of the same request did not start another.
            if not replay:
                self.metrics.funnel.labels("checkout_started").inc()
        if claim.request_hash != digest:
            raise errors.idempotency_key_reused()
        if not claim.new:
            existing = await self.store.get(claim.order_id)
            if existing is not None:
                return existing
            # The first try claimed the key and did not get to write (or is writing
            # now): write the same order, which is idempotent.
        order = OrderRecord(
            order_id=claim.order_id,
            user_id=user_id,
            status="pending",
            lines=lines,
            total=sum((line.line_total for line in lines), Decimal(0)),
            currency=currency,
            shipping_address=body.shipping_address.model_dump(mode="json"),
            payment_token=body.payment_token,
            created_at=claim.created_at,
            updated_at=claim.created_at,
            from_cart=from_cart,
        )
        placed = OrderPlaced(
            order_id=order.order_id,
            user_id=user_id,
            lines=[OrderLine(product_id=x.product_id, quantity=x.quantity) for x in order.lines],
            total=order.total,
            currency=order.currency,
        )
        await self.store.place(order, [order_event(order.order_id, "placed", placed)])
        if claim.new:
            self.metrics.placed.labels(order.currency).inc()
            self.metrics.funnel.labels("placed").inc()
            self.metrics.stage_seconds.labels("accept").observe(
                (datetime.now(UTC) - started).total_seconds()
            )
        return order

    async def _priced_lines(
        self, user_id: uuid.UUID, body: OrderCreate
    ) -> tuple[tuple[LineRecord, ...], str, bool]:
        """The order's lines (summed per product, priced by the catalog now), its
        currency, and whether they came from the cart."""
        from_cart = body.lines is None
        quantities: Counter[uuid.UUID] = Counter()
        if body.lines is None:
            for item in await self.carts.items(user_id):
                quantities[item.product_id] += item.quantity
        else:
            # Lines of one product are summed: inventory holds per product.
            for line in body.lines:
                quantities[line.product_id] += line.quantity
        if not quantities:
            raise errors.empty_order()
        for product_id, quantity in quantities.items():
            if quantity > self.max_quantity:
                raise errors.too_many_units(product_id, quantity, self.max_quantity)
        try:
            products = await self.directory.products(quantities)
        except CalleeUnavailable as exc:
            raise errors.callee_unavailable(exc.callee) from exc
        missing = sorted((p for p in quantities if p not in products), key=str)
        if missing:
            raise errors.unknown_products(missing)
        currencies = {products[p].currency for p in quantities}
        if len(currencies) > 1:
            raise errors.mixed_currencies(sorted(currencies))
        lines = tuple(
            LineRecord(
                product_id=product_id,
                name=products[product_id].name,
                quantity=quantity,
                unit_price=products[product_id].price,
            )
            for product_id, quantity in sorted(quantities.items(), key=lambda i: str(i[0]))
        )
        return lines, currencies.pop(), from_cart


class OrderReads:
    def __init__(self, store: OrderStore) -> None:
        self.store = store

    async def visible(self, order_id: uuid.UUID, user_id: uuid.UUID, *, admin: bool) -> OrderRecord:
        """The order if the caller owns it or is an admin; otherwise 404 (not 403: whether
        an order id exists is nobody else's business)."""
        order = await self.store.get(order_id)
        if order is None or (order.user_id != user_id and not admin):
            raise errors.order_not_found(order_id)
        return order

    async def of_user(self, user_id: uuid.UUID, limit: int) -> list[OrderRecord]:
        return await self._load(await self.store.of_user(user_id, limit))

    async def with_status(self, status: str | None, limit: int) -> list[OrderRecord]:
        if status is None:
            return await self._load(await self.store.recent(limit))
        found = await self._load(await self.store.with_status(status, limit))
        # The index is written after each transition: an entry may be a step behind.
        return [order for order in found if order.status == status]

    async def _load(self, ids: list[uuid.UUID]) -> list[OrderRecord]:
        orders = [await self.store.get(order_id) for order_id in ids]
        return [order for order in orders if order is not None]
