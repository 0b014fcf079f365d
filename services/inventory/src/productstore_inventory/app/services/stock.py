"""Stock levels: what admins set and read, and the events every change publishes
(StockChanged; LowStock and BackInStock once per crossing of the threshold)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from productstore_common.events import Outbox, new_event
from productstore_contracts.events import EventPayload
from productstore_contracts.events.inventory import (
    INVENTORY_SOURCE,
    BackInStock,
    LowStock,
    StockChanged,
)
from productstore_inventory.app.core import errors
from productstore_inventory.app.data.stock import (
    CasOutcomeUnknown,
    Counts,
    LowStockRow,
    StockStore,
)
from productstore_inventory.app.services.metrics import InventoryMetrics

# Namespace of the ids of events derived from a stock version (the same fact twice is
# the same event, and consumers drop the copy).
_EVENTS: Final = uuid.UUID("5b0c1f6e-7c55-4d7a-9a43-2f1f3c6a9e10")
_ALERT_ATTEMPTS: Final = 20


@dataclass(frozen=True)
class StockView:
    product_id: uuid.UUID
    locations: Mapping[str, Counts]
    low_stock_threshold: int
    low: bool
    # The product's own reorder settings (None: the service default), by name.
    reorder: Mapping[str, float | None] = field(default_factory=dict)

    @property
    def on_hand(self) -> int:
        return sum(c.on_hand for c in self.locations.values())

    @property
    def reserved(self) -> int:
        return sum(c.reserved for c in self.locations.values())

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def version(self) -> int:
        # Each write adds one to one location's version: the sum grows with every write.
        return sum(c.version for c in self.locations.values())


def event_id(subject: uuid.UUID, fact: str) -> uuid.UUID:
    return uuid.uuid5(_EVENTS, f"{subject}:{fact}")


class StockLevels:
    """Admin writes and reads of stock, and the product events after any change."""

    def __init__(self, store: StockStore, outbox: Outbox, metrics: InventoryMetrics) -> None:
        self.store = store
        self.outbox = outbox
        self.metrics = metrics

    async def view(self, product_id: uuid.UUID) -> StockView | None:
        product = await self.store.product(product_id)
        if product is None:
            return None
        counts = {
            location: await self.store.counts(product_id, location, serial=False)
            for location in sorted(product.locations)
        }
        reorder = {
            "lead_time_days": product.lead_time_days,
            "review_period_days": product.review_period_days,
            "service_level": product.service_level,
        }
        return StockView(product_id, counts, product.low_stock_threshold, product.low, reorder)

    async def set_stock(
        self, product_id: uuid.UUID, on_hand: Mapping[str, int], threshold: int | None
    ) -> StockView:
        """Set on_hand per location (others keep theirs). Refused as a whole, before any
        write, when a location would go below what unpaid orders hold there."""
        current = {
            location: await self.store.counts(product_id, location, serial=True)
            for location in sorted(on_hand)
        }
        for location, counts in current.items():
            if on_hand[location] < counts.reserved:
                raise errors.below_reserved(
                    product_id, location, on_hand[location], counts.reserved
                )
        await self.store.add_product_locations(product_id, on_hand.keys(), threshold)
        for location, counts in current.items():
            await self._set_location(product_id, location, on_hand[location], counts)
        await self.publish(product_id)
        view = await self.view(product_id)
        assert view is not None  # noqa: S101 - written above
        return view

    async def set_reorder(
        self, product_id: uuid.UUID, values: Mapping[str, float | None]
    ) -> StockView:
        """Set (None: clear) the product's own reorder settings; 404 without stock."""
        if await self.store.product(product_id) is None:
            raise errors.inventory_not_found(product_id)
        await self.store.set_reorder_settings(product_id, values)
        view = await self.view(product_id)
        assert view is not None  # noqa: S101 - read above
        return view

    async def _set_location(
        self, product_id: uuid.UUID, location: str, on_hand: int, counts: Counts
    ) -> None:
        for _ in range(50):
            if counts.exists and counts.on_hand == on_hand:
                return
            if on_hand < counts.reserved:
                # A reservation slipped in between the check and this write.
                raise errors.below_reserved(product_id, location, on_hand, counts.reserved)
            try:
                result = await self.store.set_on_hand(product_id, location, on_hand, counts)
            except CasOutcomeUnknown:
                self.metrics.cas_unknown.inc()
                result = None
            if result is not None and result.applied:
                return
            if result is not None:
                self.metrics.conflicts.inc()
            counts = await self.store.counts(product_id, location, serial=True)
        raise errors.contended(product_id, location)

    async def low_stock(self, limit: int) -> list[LowStockRow]:
        return await self.store.low_stock(limit)

    async def publish(self, product_id: uuid.UUID) -> None:
        """StockChanged for the product's current totals, and LowStock or BackInStock
        when this version crosses the threshold (decided by a CAS on the product row,
        so concurrent writers announce a crossing once)."""
        view = await self.view(product_id)
        if view is None:
            return
        events: list[EventPayload] = [
            StockChanged(
                product_id=product_id,
                available=view.available,
                version=view.version,
                on_hand=view.on_hand,
                reserved=view.reserved,
                in_stock=view.available > 0,
            )
        ]
        ids = [event_id(product_id, f"changed:{view.version}")]
        for attempt in range(_ALERT_ATTEMPTS):
            # A plain read first: a SERIAL one is a Paxos round on the product row, and
            # every sale of a hot product would queue there for a crossing that rarely
            # happens. Only a crossing reads (and then writes) at SERIAL.
            product = await self.store.product(product_id, serial=attempt > 0)
            if product is None or view.version < product.seen_version:
                break  # a newer level was seen already
            low = view.available <= product.low_stock_threshold
            out = view.available <= 0
            if low == product.low and out == (product.seen_available <= 0):
                # Nothing crosses: no write, so a hot product's sales do not queue on
                # its product row.
                break
            if attempt == 0:
                continue  # confirm at SERIAL
            try:
                applied = await self.store.record_alert_state(
                    product, version=view.version, available=view.available, low=low
                )
            except CasOutcomeUnknown:
                self.metrics.cas_unknown.inc()
                applied = False
            if not applied:
                # Read again (at SERIAL) and decide on the newest totals.
                fresh = await self.view(product_id)
                view = fresh if fresh is not None and fresh.version > view.version else view
                continue
            if out and product.seen_available > 0:
                self.metrics.stock_outs.inc()
            threshold = product.low_stock_threshold
            if low and not product.low:
                await self.store.mark_low(product_id, view.available, threshold)
                self.metrics.low_stock.labels("low").inc()
                events.append(
                    LowStock(
                        product_id=product_id,
                        available=view.available,
                        version=view.version,
                        threshold=threshold,
                    )
                )
                ids.append(event_id(product_id, f"low:{view.version}"))
            elif product.low and not low:
                await self.store.clear_low(product_id)
                self.metrics.low_stock.labels("back_in_stock").inc()
                events.append(
                    BackInStock(
                        product_id=product_id,
                        available=view.available,
                        version=view.version,
                        threshold=threshold,
                    )
                )
                ids.append(event_id(product_id, f"back:{view.version}"))
            break
        await self.outbox.write(
            [],
            [
                new_event(payload, source=INVENTORY_SOURCE, subject=str(product_id), id=ident)
                for payload, ident in zip(events, ids, strict=True)
            ],
        )
