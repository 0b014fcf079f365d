"""Reservations: the operations the order events drive (reserve, release, commit,
restock) and the expiry of unpaid holds (docs/adr, the reservation design).

- The order's record (`reservations`) is the one decision point: every change of
  its state is an LWT, so a payment and an expiry racing for the same order end
  with exactly one winner, and a redelivered event finds the decision made.
- Each (order, product, location) has one hold whose id is derived from them,
  and each hold changes with the stock counts of its partition in one CAS: a
  retry or a redelivery finds its hold and changes nothing twice.
- Lines are summed per product and reserved in product-id order, locations in
  name order; when one product falls short, what the order took is released.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from productstore_common.events import Outbox, new_event
from productstore_contracts.events import EventPayload
from productstore_contracts.events.inventory import (
    INVENTORY_SOURCE,
    ReleaseReason,
    ReservedLine,
    ShortLine,
    StockCommitRefused,
    StockCommitted,
    StockReleased,
    StockReserved,
    StockShortfall,
)
from productstore_inventory.app.data.sales import SalesStore
from productstore_inventory.app.data.stock import (
    CasOutcomeUnknown,
    Counts,
    Hold,
    HoldState,
    Reservation,
    StockStore,
    expiry_bucket,
)
from productstore_inventory.app.services.metrics import InventoryMetrics
from productstore_inventory.app.services.stock import StockLevels, event_id

_logger = logging.getLogger(__name__)

_HOLDS: Final = uuid.UUID("0e7f0d1a-3f1e-4b8e-9a52-8b8b7d3c2a61")
# Retry jitter only (not security); an instance of its own leaves the global one alone.
_random: Final = random.Random()  # noqa: S311
# How often a line that fell short is tried again while the product has enough.
_SHORT_RETRIES: Final = 8

Outcome = Literal["reserved", "shortfall", "released", "committed", "refused", "restocked", "none"]
ExpiredBy = Literal["sweeper", "lazy"]


class ContendedError(Exception):
    """A hold kept losing its compare-and-set past the deadline; the event is retried."""


def hold_id_of(order_id: uuid.UUID, product_id: uuid.UUID, location: str) -> uuid.UUID:
    """The hold's id: the same order, product and location always give the same one."""
    return uuid.uuid5(_HOLDS, f"{order_id}:{product_id}:{location}")


def sum_lines(lines: Iterable[tuple[uuid.UUID, int]]) -> dict[uuid.UUID, int]:
    """Quantities per product (two lines of one product are one hold of their sum)."""
    summed: dict[uuid.UUID, int] = {}
    for product_id, quantity in lines:
        if quantity < 1:
            raise ValueError(f"line quantity must be at least 1, got {quantity}")
        summed[product_id] = summed.get(product_id, 0) + quantity
    return summed


@dataclass(frozen=True)
class ReserveResult:
    outcome: Outcome
    short: Mapping[uuid.UUID, int]
    expires_at: datetime | None


# What each hold transition does to its partition's counts.
def _moved(counts: Counts, quantity: int, frm: HoldState | None, to: HoldState) -> Counts:
    on_hand, reserved = counts.on_hand, counts.reserved
    match (frm, to):
        case (None, "held") | ("released", "held"):
            reserved += quantity
        case ("held", "released"):
            reserved -= quantity
        case ("held", "committed"):
            on_hand -= quantity
            reserved -= quantity
        case ("committed", "restocked"):
            on_hand += quantity
        case _:
            raise ValueError(f"no hold transition {frm} -> {to}")
    return Counts(on_hand, reserved, counts.version + 1)


class Reservations:
    """reserve / release / commit / restock / expire, each idempotent per order."""

    def __init__(
        self,
        store: StockStore,
        outbox: Outbox,
        levels: StockLevels,
        metrics: InventoryMetrics,
        *,
        hold_seconds: float,
        cas_deadline_seconds: float,
        clock: type[datetime] = datetime,
        sales: SalesStore | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.levels = levels
        self.metrics = metrics
        self.hold_seconds = hold_seconds
        self.cas_deadline_seconds = cas_deadline_seconds
        self._clock = clock
        # Where sold units are counted for the reorder forecasts (None: not counted).
        self.sales = sales
        self._locks = PartitionLocks()

    def _now(self) -> datetime:
        return self._clock.now(UTC)

    # --- reserve ---------------------------------------------------------------

    async def reserve(
        self, order_id: uuid.UUID, lines: Iterable[tuple[uuid.UUID, int]]
    ) -> ReserveResult:
        """Hold every line or none. The first call decides; later calls (retries,
        redeliveries, even with other lines) return that decision and publish its
        event again under the same id."""
        summed = sum_lines(lines)
        record = await self.store.reservation(order_id)
        if record is None:
            expires_at = self._now() + timedelta(seconds=self.hold_seconds)
            # Cassandra keeps milliseconds: the same instant whether read back or not.
            expires_at = expires_at.replace(microsecond=expires_at.microsecond // 1000 * 1000)
            if await self.store.start_reservation(order_id, summed, expires_at):
                record = Reservation(order_id, "reserving", summed, {}, expires_at, None)
            else:
                found = await self.store.reservation(order_id)
                assert found is not None  # noqa: S101 - its insert lost to this one
                record = dataclasses.replace(found, resumed=True)
        else:
            # A call before this one may have taken holds already.
            record = dataclasses.replace(record, resumed=True)
        if record.state == "reserving":
            record = await self._take_all(record)
        await self._announce(record)
        outcome: Outcome = {
            "reserved": "reserved",
            "committed": "reserved",
            "rejected": "shortfall",
        }.get(record.state, "released")  # type: ignore[assignment]
        return ReserveResult(outcome, record.short, record.expires_at)

    async def _take_all(self, record: Reservation) -> Reservation:
        """Take every line or none; the order's record as decided."""
        touched: list[uuid.UUID] = []
        short: dict[uuid.UUID, int] = {}
        for product_id in sorted(record.lines, key=str):  # one order for every buyer
            quantity = record.lines[product_id]
            touched.append(product_id)
            available = await self._take_product(record, product_id, quantity)
            if available is not None:
                short[product_id] = available
                break
        if short:
            # Report every short line, not just the first: a look at the rest.
            for product_id in sorted(record.lines, key=str):
                if product_id not in short and product_id not in touched:
                    view = await self.levels.view(product_id)
                    available = 0 if view is None else view.available
                    if available < record.lines[product_id]:
                        short[product_id] = available
            decided = await self.store.transition(
                record.order_id, from_states=("reserving",), to_state="rejected", short=short
            )
            if decided:
                self.metrics.reservations.labels("shortfall").inc()
        else:
            decided = await self.store.transition(
                record.order_id, from_states=("reserving",), to_state="reserved"
            )
            if decided:
                self.metrics.reservations.labels("reserved").inc()
        if decided and not short:
            await self._publish(touched)
            return dataclasses.replace(record, state="reserved")
        current = await self.store.reservation(record.order_id)
        assert current is not None  # noqa: S101 - it was written before any hold
        if current.state in ("rejected", "released", "expired"):
            # Short, or expired/released while we were taking: give back what we hold.
            await self._resolve_holds(record, "held", "released")
        await self._publish(touched)
        return current

    async def _take_product(
        self, record: Reservation, product_id: uuid.UUID, quantity: int
    ) -> int | None:
        """Hold `quantity` of the product; None when held, else what was available (the
        order is then short).

        A location that can hold the whole line is used alone (the first by name);
        otherwise the line is split in name order. A split that falls short gives its
        units back and tries again while the product as a whole has enough: another
        buyer's split holding units only for a moment must not turn this one away."""
        product = await self.store.product(product_id)
        if product is None:
            return 0
        locations = sorted(product.locations)
        available = 0
        for attempt in range(_SHORT_RETRIES):
            counts = {
                location: await self.store.counts(product_id, location, serial=attempt > 0)
                for location in locations
            }
            # What this order holds already (a retry after a crash) stays where it is.
            holds = (
                {
                    location: hold
                    for location in locations
                    if (
                        hold := await self.store.hold(
                            product_id, location, hold_id_of(record.order_id, product_id, location)
                        )
                    )
                    is not None
                }
                if attempt > 0 or record.resumed
                else {}
            )
            taken = sum(h.quantity for h in holds.values() if h.state == "held")
            remaining = quantity - taken
            free = [
                location
                for location in locations
                if location not in holds or holds[location].state != "held"
            ]
            whole = next((loc for loc in free if counts[loc].available >= remaining), None)
            chosen = [whole] if whole is not None else free
            # The partitions stay locked (in this process) until the attempt has taken
            # all it needs or given it back: no other buyer here sees a passing hold.
            async with self._locks.hold_all([(product_id, location) for location in chosen]):
                for location in chosen:
                    if remaining <= 0:
                        break
                    remaining -= await self._take_locked(
                        record, product_id, location, remaining, holds.get(location)
                    )
                if remaining <= 0:
                    return None
                # Short: give back what this attempt took, then look again.
                await self._release_product_locked(record, product_id, chosen)
            expired = attempt == 0 and await self._expire_lazily(product_id, locations)
            view = await self.levels.view(product_id)
            available = 0 if view is None else max(view.available, 0)
            if available < quantity and not expired:
                return available
            await _jitter(attempt + 1, scale=0.01)
        return available

    async def _release_product_locked(
        self, record: Reservation, product_id: uuid.UUID, locations: Iterable[str]
    ) -> None:
        for location in locations:
            hold = await self.store.hold(
                product_id, location, hold_id_of(record.order_id, product_id, location)
            )
            if hold is not None and hold.state == "held":
                await self._move_locked(hold, "held", "released")

    async def _take_locked(  # noqa: PLR0911, PLR0912 - one CAS loop, each exit an outcome
        self,
        record: Reservation,
        product_id: uuid.UUID,
        location: str,
        wanted: int,
        existing: Hold | None,
    ) -> int:
        """Hold up to `wanted` units at one location (its lock held): how many this order
        holds there. Calls of one process for one partition queue on that lock, so the
        compare-and-set races only other replicas, not 63 coroutines of its own."""
        hold_id = hold_id_of(record.order_id, product_id, location)
        # A hold this order gave back in an earlier attempt is taken again.
        previous: HoldState | None = existing.state if existing is not None else None
        if previous == "held" and existing is not None:
            return existing.quantity
        if previous not in (None, "released"):
            return 0
        counts = await self.store.counts(product_id, location, serial=False)
        deadline = time.monotonic() + self.cas_deadline_seconds
        attempt = 0
        while True:
            take = min(wanted, counts.available)
            if take <= 0 or not counts.exists:
                if counts.exists and attempt == 0:
                    # The first read was not at SERIAL: confirm before calling it short.
                    counts = await self.store.counts(product_id, location, serial=True)
                    attempt += 1
                    continue
                return 0
            hold = Hold(
                hold_id, product_id, location, record.order_id, take, "held", record.expires_at
            )
            try:
                result = await self.store.change_hold(
                    expected=counts,
                    new=_moved(counts, take, previous, "held"),
                    hold=hold,
                    previous_state=previous,
                )
            except CasOutcomeUnknown:
                self.metrics.cas_unknown.inc()
                found = await self.store.hold(product_id, location, hold_id)  # SERIAL
                if found is not None and found.state == "held":
                    return found.quantity
                previous = None if found is None else found.state
                counts = await self.store.counts(product_id, location, serial=True)
                continue
            if result.applied:
                return take
            if result.hold_state != previous:
                # Someone (a duplicate delivery) moved this hold: take it as it is now.
                found = await self.store.hold(product_id, location, hold_id)
                if found is not None and found.state == "held":
                    return found.quantity
                if found is None or found.state != "released":
                    return 0
                previous = "released"
            else:
                self.metrics.conflicts.inc()
            attempt += 1
            if time.monotonic() > deadline:
                raise ContendedError(f"{product_id}/{location}: {attempt} conflicts")
            counts = (
                result.counts
                if result.counts.exists
                else await self.store.counts(product_id, location, serial=True)
            )
            await _jitter(attempt)

    # --- release, expire, commit, restock --------------------------------------

    async def release(self, order_id: uuid.UUID, reason: ReleaseReason) -> Outcome:
        """Release an unpaid order's holds (cancelled, expired by the orders service).
        An order never seen is recorded as released, so its late OrderPlaced holds
        nothing."""
        record = await self.store.reservation(order_id)
        if record is None:
            epoch = datetime.fromtimestamp(0, UTC)
            await self.store.start_reservation(order_id, {}, epoch)
            await self.store.transition(
                order_id, from_states=("reserving",), to_state="released", reason=reason
            )
            record = await self.store.reservation(order_id)
            assert record is not None  # noqa: S101
        if record.state in ("reserving", "reserved"):
            await self.store.transition(
                order_id,
                from_states=("reserving", "reserved"),
                to_state="released",
                reason=reason,
            )
            record = await self.store.reservation(order_id)
            assert record is not None  # noqa: S101
        if record.state in ("released", "expired"):
            await self._resolve_holds(record, "held", "released")
            await self._publish(record.lines)
            await self._announce(record)
            return "released"
        return "none"

    async def expire(self, order_id: uuid.UUID, how: ExpiredBy) -> bool:
        """Release the order's holds if they expired unpaid; whether it expired now."""
        expired = await self.store.transition(
            order_id,
            from_states=("reserving", "reserved"),
            to_state="expired",
            reason="expired",
            expired_at=self._now(),
        )
        record = await self.store.reservation(order_id)
        if record is None or record.state != "expired":
            return False
        if expired:
            self.metrics.holds_expired.labels(how).inc()
        await self._resolve_holds(record, "held", "released")
        await self._publish(record.lines)
        await self._announce(record)
        return expired

    async def _expire_lazily(self, product_id: uuid.UUID, locations: Iterable[str]) -> bool:
        """Expire the orders whose holds on this product timed out; whether any did."""
        now = self._now()
        orders = {
            hold.order_id
            for location in locations
            for hold in await self.store.held(product_id, location)
            if hold.expires_at <= now
        }
        expired = False
        for order_id in sorted(orders, key=str):
            expired = await self.expire(order_id, "lazy") or expired
        return expired

    async def commit(self, order_id: uuid.UUID) -> Outcome:
        """The order was paid: its held stock is sold. Refused (StockCommitRefused: the
        orders service refunds) when the holds expired or were released first."""
        record = await self.store.reservation(order_id)
        if record is not None and record.state == "reserved":
            await self.store.transition(
                order_id,
                from_states=("reserved",),
                to_state="committed",
                unexpired_at=self._now(),
            )
            record = await self.store.reservation(order_id)
            assert record is not None  # noqa: S101
            if record.state == "reserved":  # its holds expired before the payment came
                await self.expire(order_id, "lazy")
                record = await self.store.reservation(order_id)
                assert record is not None  # noqa: S101
        if record is not None and record.state in ("committed", "restocked"):
            if record.state == "committed":
                await self._resolve_holds(record, "held", "committed")
                await self._count_sale(record)
                await self._publish(record.lines)
            self.metrics.commits.labels("committed").inc()
            await self._emit(order_id, "committed", StockCommitted(order_id=order_id))
            return "committed"
        if record is not None and record.state == "reserving":
            # OrderPaid overtook an unfinished OrderPlaced: let the consumer retry.
            raise ContendedError(f"order {order_id} is still being reserved")
        reason = "unknown_order" if record is None else record.state
        if reason == "rejected":
            refused = StockCommitRefused(order_id=order_id, reason="rejected")
        elif reason == "expired":
            refused = StockCommitRefused(order_id=order_id, reason="expired")
        elif reason == "released":
            refused = StockCommitRefused(order_id=order_id, reason="released")
        else:
            refused = StockCommitRefused(order_id=order_id, reason="unknown_order")
        self.metrics.commits.labels("refused").inc()
        await self._emit(order_id, "commit-refused", refused)
        return "refused"

    async def restock(self, order_id: uuid.UUID) -> Outcome:
        """A paid order was cancelled: its sold units go back on hand. An order that
        was never committed is released instead."""
        record = await self.store.reservation(order_id)
        if record is None or record.state in ("reserving", "reserved"):
            return await self.release(order_id, "cancelled")
        if record.state == "committed":
            await self.store.transition(
                order_id, from_states=("committed",), to_state="restocked", reason="restocked"
            )
            record = await self.store.reservation(order_id)
            assert record is not None  # noqa: S101
        if record.state != "restocked":
            return "none"
        # A crash between the two may leave holds `held` on a committed order: finish them.
        await self._resolve_holds(record, "held", "committed")
        await self._resolve_holds(record, "committed", "restocked")
        if self.sales is not None and record.committed_at is not None:
            await self.sales.forget(order_id, record.committed_at.date(), record.lines)
        await self._publish(record.lines)
        await self._announce(record)
        return "restocked"

    async def _count_sale(self, record: Reservation) -> None:
        """The order's units as sold on the day its payment committed them (the same
        rows on every redelivery)."""
        if self.sales is not None and record.committed_at is not None:
            await self.sales.record(record.order_id, record.committed_at.date(), record.lines)

    # --- holds of an order -------------------------------------------------------

    async def _holds(self, record: Reservation) -> list[Hold]:
        holds: list[Hold] = []
        for product_id in sorted(record.lines, key=str):
            product = await self.store.product(product_id)
            for location in sorted(product.locations if product else ()):
                hold = await self.store.hold(
                    product_id, location, hold_id_of(record.order_id, product_id, location)
                )
                if hold is not None:
                    holds.append(hold)
        return holds

    async def _resolve_holds(self, record: Reservation, frm: HoldState, to: HoldState) -> None:
        for hold in await self._holds(record):
            if hold.state == frm:
                await self._move(hold, frm, to)

    async def _move(self, hold: Hold, frm: HoldState, to: HoldState) -> None:
        async with self._locks.hold((hold.product_id, hold.location)):
            await self._move_locked(hold, frm, to)

    async def _move_locked(self, hold: Hold, frm: HoldState, to: HoldState) -> None:
        counts = await self.store.counts(hold.product_id, hold.location, serial=True)
        moved = Hold(
            hold.hold_id,
            hold.product_id,
            hold.location,
            hold.order_id,
            hold.quantity,
            to,
            hold.expires_at,
        )
        deadline = time.monotonic() + self.cas_deadline_seconds
        attempt = 0
        while True:
            try:
                result = await self.store.change_hold(
                    expected=counts,
                    new=_moved(counts, hold.quantity, frm, to),
                    hold=moved,
                    previous_state=frm,
                )
            except CasOutcomeUnknown:
                self.metrics.cas_unknown.inc()
                current = await self.store.hold(hold.product_id, hold.location, hold.hold_id)
                if current is None or current.state != frm:
                    return
                counts = await self.store.counts(hold.product_id, hold.location, serial=True)
                continue
            if result.applied or result.hold_state != frm:
                return  # done, by us or by someone before us
            self.metrics.conflicts.inc()
            attempt += 1
            if time.monotonic() > deadline:
                raise ContendedError(f"{hold.product_id}/{hold.location}: {attempt} conflicts")
            counts = result.counts
            await _jitter(attempt)

    # --- events ------------------------------------------------------------------

    async def _publish(self, product_ids: Iterable[uuid.UUID]) -> None:
        for product_id in sorted(set(product_ids), key=str):
            await self.levels.publish(product_id)

    async def _announce(self, record: Reservation) -> None:
        """The event of the order's current state (the same id every time)."""
        order_id = record.order_id
        payload: EventPayload
        if record.state in ("reserved", "committed"):
            fact = "reserved"
            payload = StockReserved(
                order_id=order_id,
                lines=[
                    ReservedLine(product_id=product_id, quantity=quantity)
                    for product_id, quantity in sorted(
                        record.lines.items(), key=lambda i: str(i[0])
                    )
                ],
                expires_at=record.expires_at,
            )
            if record.state == "committed":
                return
        elif record.state == "rejected":
            fact = "shortfall"
            payload = StockShortfall(
                order_id=order_id,
                short=[
                    ShortLine(
                        product_id=product_id,
                        requested=record.lines.get(product_id, 1),
                        available=max(available, 0),
                    )
                    for product_id, available in sorted(
                        record.short.items(), key=lambda i: str(i[0])
                    )
                ],
            )
        elif record.state in ("released", "expired", "restocked"):
            fact = f"released:{record.state}"
            reason: ReleaseReason = (
                "expired" if record.state == "expired" else record.reason or "cancelled"  # type: ignore[assignment]
            )
            payload = StockReleased(order_id=order_id, reason=reason)
        else:
            return
        await self._emit(order_id, fact, payload)

    async def _emit(self, order_id: uuid.UUID, fact: str, payload: EventPayload) -> None:
        await self.outbox.write(
            [],
            [
                new_event(
                    payload,
                    source=INVENTORY_SOURCE,
                    subject=str(order_id),
                    id=event_id(order_id, fact),
                )
            ],
        )

    # --- the sweeper's pass -------------------------------------------------------

    def first_sweep_bucket(self, lookback_seconds: int) -> int:
        return expiry_bucket(self._now() - timedelta(seconds=lookback_seconds))

    async def sweep(self, first_bucket: int) -> tuple[int, int]:
        """Expire every order whose holds timed out, in the index's buckets from
        `first_bucket` to now: how many expired, and where the next pass starts (the
        current minute: every earlier bucket is done once this pass returns)."""
        now = self._now()
        current = expiry_bucket(now)
        expired = 0
        for bucket in range(first_bucket, current + 1):
            for expires_at, order_id in await self.store.expiring(bucket):
                if expires_at > now:
                    break  # clustered by expiry: the rest of the bucket is later
                if await self.expire(order_id, "sweeper"):
                    expired += 1
                await self.store.forget_expiring(expires_at, order_id)
        return expired, current


async def _jitter(attempt: int, scale: float = 0.002) -> None:
    # Losers back off a little, randomly, so buyers of one product on several replicas
    # do not retry in lock-step; capped so a hot product still sells quickly.
    await asyncio.sleep(_random.uniform(0, min(scale * attempt, 0.05)))


class PartitionLocks:
    """One asyncio lock per stock partition in use, dropped when nobody waits on it."""

    def __init__(self) -> None:
        self._locks: dict[tuple[uuid.UUID, str], tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold_all(self, keys: Iterable[tuple[uuid.UUID, str]]) -> AsyncIterator[None]:
        """Every lock of `keys`, taken in one order (sorted), so two holders never wait
        on each other."""
        async with AsyncExitStack() as stack:
            for key in sorted(set(keys), key=lambda k: (str(k[0]), k[1])):
                await stack.enter_async_context(self.hold(key))
            yield

    @asynccontextmanager
    async def hold(self, key: tuple[uuid.UUID, str]) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
