"""Carts: what a signed-in user means to buy, priced by the catalog when read.

An item remembers the price and availability the user saw when adding it, so a
read can say what changed since: a new price, an item gone out of stock, a
product deleted from the catalog.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from productstore_orders.app.core import errors
from productstore_orders.app.data.carts import MAX_CART_ITEMS, CartItemRecord, CartStore
from productstore_orders.app.data.products import CalleeUnavailable, ProductDirectory
from productstore_orders.app.models import CartItemPublic, CartPublic
from productstore_orders.app.services.metrics import OrderMetrics


def _now() -> datetime:
    return datetime.now(UTC)


class Carts:
    def __init__(
        self, store: CartStore, directory: ProductDirectory, metrics: OrderMetrics
    ) -> None:
        self.store = store
        self.directory = directory
        self.metrics = metrics

    async def view(self, user_id: uuid.UUID) -> CartPublic:
        records = await self.store.items(user_id)
        ids = [record.product_id for record in records]
        try:
            products = await self.directory.products(ids)
        except CalleeUnavailable as exc:
            raise errors.callee_unavailable(exc.callee) from exc
        available = await self.directory.available(ids)
        items: list[CartItemPublic] = []
        notices: list[str] = []
        currencies: set[str] = set()
        total = Decimal(0)
        for record in records:
            info = products.get(record.product_id)
            units = available[record.product_id]
            in_stock = None if units is None else units >= record.quantity
            if info is None:
                notices.append(f"Product {record.product_id} is no longer sold; remove it.")
                items.append(
                    CartItemPublic(
                        product_id=record.product_id,
                        name=None,
                        quantity=record.quantity,
                        unit_price=None,
                        currency=None,
                        line_total=None,
                        price_when_added=record.added_price,
                        price_changed=False,
                        available=units,
                        in_stock=False,
                        out_of_stock_since_added=record.added_in_stock,
                        unavailable=True,
                        added_at=record.added_at,
                    )
                )
                continue
            changed = info.price != record.added_price or info.currency != record.added_currency
            gone = record.added_in_stock and in_stock is False
            if changed:
                notices.append(
                    f"The price of {info.name} changed from {record.added_price} "
                    f"{record.added_currency} to {info.price} {info.currency}."
                )
            if gone:
                notices.append(
                    f"{info.name} went out of stock since you added it"
                    + (f" ({units} left)." if units else ".")
                )
            line_total = info.price * record.quantity
            total += line_total
            currencies.add(info.currency)
            items.append(
                CartItemPublic(
                    product_id=record.product_id,
                    name=info.name,
                    quantity=record.quantity,
                    unit_price=info.price,
                    currency=info.currency,
                    line_total=line_total,
                    price_when_added=record.added_price,
                    price_changed=changed,
                    available=units,
                    in_stock=in_stock,
                    out_of_stock_since_added=gone,
                    unavailable=False,
                    added_at=record.added_at,
                )
            )
        currency = next(iter(currencies)) if len(currencies) == 1 else None
        return CartPublic(items=items, total=total, currency=currency, notices=notices)

    async def put(self, user_id: uuid.UUID, product_id: uuid.UUID, quantity: int) -> CartPublic:
        if quantity == 0:
            if await self.store.item(user_id, product_id) is not None:
                await self.store.remove(user_id, [product_id])
                self._changed("removed")
            return await self.view(user_id)
        try:
            info = (await self.directory.products([product_id])).get(product_id)
        except CalleeUnavailable as exc:
            raise errors.callee_unavailable(exc.callee) from exc
        if info is None:
            raise errors.product_not_found(product_id)
        existing = await self.store.item(user_id, product_id)
        held = None if existing is not None else len(await self.store.items(user_id))
        if held is not None and held >= MAX_CART_ITEMS:
            raise errors.cart_full(MAX_CART_ITEMS)
        units = (await self.directory.available([product_id]))[product_id]
        now = _now()
        record = CartItemRecord(
            product_id=product_id,
            quantity=quantity,
            # What the user saw first is kept: the cart reports changes since then.
            added_price=existing.added_price if existing else info.price,
            added_currency=existing.added_currency if existing else info.currency,
            added_in_stock=(
                existing.added_in_stock if existing else units is None or units >= quantity
            ),
            added_at=existing.added_at if existing else now,
        )
        await self.store.put(user_id, record, now)
        if existing is None:
            self._changed("added")
            if held == 0:
                self.metrics.funnel.labels("cart").inc()
        elif existing.quantity != quantity:
            self._changed("updated")
        return await self.view(user_id)

    async def remove(self, user_id: uuid.UUID, product_id: uuid.UUID) -> CartPublic:
        if await self.store.item(user_id, product_id) is None:
            raise errors.cart_item_not_found(product_id)
        await self.store.remove(user_id, [product_id])
        self._changed("removed")
        return await self.view(user_id)

    async def clear(self, user_id: uuid.UUID) -> None:
        await self.store.clear(user_id)
        self._changed("cleared")

    def _changed(self, change: str) -> None:
        self.metrics.cart_changes.labels(change).inc()
