"""Cassandra access of the inventory: stock partitions with their holds, the products'
locations and alert state, the per-order reservation record, the sweeper's index.

Every write of a stock partition is one lightweight transaction (a conditional batch
of two UPDATEs on the same partition: the counts, guarded by `version`, and the
hold, guarded by its state), so the counts and the hold change together or not at
all. A CAS whose outcome is unknown (timeout) raises `CasOutcomeUnknown`; the
caller re-reads at SERIAL, which finishes or discards the in-flight proposal, and
looks whether its own change is there (docs/adr, the reservation design).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from cassandra import ConsistencyLevel, OperationTimedOut, WriteTimeout
from cassandra.query import BatchStatement, BatchType, BoundStatement

from productstore_common.cassandra import CassandraSession, Page

HoldState = Literal["held", "committed", "released", "restocked"]
ReservationState = Literal[
    "reserving", "reserved", "rejected", "released", "expired", "committed", "restocked"
]

# The sweeper's index buckets orders by the minute their holds expire.
EXPIRY_BUCKET_SECONDS: Final = 60
_LOW_STOCK_SHARD: Final = 0


class CasOutcomeUnknown(Exception):  # noqa: N818 - an outcome, not a failure of ours
    """A lightweight transaction timed out: it may or may not have been applied."""


@dataclass(frozen=True)
class Counts:
    """The static columns of a (product, location) partition; version 0: never written."""

    on_hand: int
    reserved: int
    version: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def exists(self) -> bool:
        return self.version > 0


NO_STOCK: Final = Counts(0, 0, 0)


@dataclass(frozen=True)
class Hold:
    hold_id: uuid.UUID
    product_id: uuid.UUID
    location: str
    order_id: uuid.UUID
    quantity: int
    state: HoldState
    expires_at: datetime


@dataclass(frozen=True)
class CasResult:
    """Whether a partition CAS applied; when not, what the partition holds now."""

    applied: bool
    counts: Counts = NO_STOCK
    hold_state: str | None = None


@dataclass(frozen=True)
class ProductRow:
    product_id: uuid.UUID
    locations: frozenset[str]
    low_stock_threshold: int
    seen_version: int
    seen_available: int
    low: bool
    # Reorder settings of this product (None: the service default).
    lead_time_days: float | None = None
    review_period_days: float | None = None
    service_level: float | None = None


@dataclass(frozen=True)
class Reservation:
    order_id: uuid.UUID
    state: ReservationState
    lines: Mapping[uuid.UUID, int]
    short: Mapping[uuid.UUID, int]
    expires_at: datetime
    reason: str | None
    # When a payment committed it: the day its units count as sold.
    committed_at: datetime | None = None
    # Set by the caller when another call may have started on this order before.
    resumed: bool = False


@dataclass(frozen=True)
class LowStockRow:
    product_id: uuid.UUID
    available: int
    threshold: int
    since: datetime


def _aware(moment: datetime) -> datetime:
    # The driver returns naive UTC datetimes.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def expiry_bucket(moment: datetime) -> int:
    return int(moment.timestamp()) // EXPIRY_BUCKET_SECONDS


class StockStore:
    """The inventory's tables; statements prepared on first use."""

    def __init__(self, db: CassandraSession, *, resolved_hold_ttl_seconds: int) -> None:
        self.db = db
        self.resolved_hold_ttl_seconds = resolved_hold_ttl_seconds

    # --- helpers ---------------------------------------------------------------

    async def _bound(self, cql: str, values: Sequence[Any]) -> BoundStatement:
        prepared = await self.db.prepare_async(cql)
        return prepared.bind(values)

    async def _serial(self, cql: str, values: Sequence[Any]) -> Page:
        """A read at LOCAL_SERIAL: it completes any in-flight Paxos round of the partition
        first, so what it returns includes every CAS that may ever be applied."""
        bound = await self._bound(cql, values)
        bound.consistency_level = ConsistencyLevel.LOCAL_SERIAL
        return await self.db.execute_async(bound)

    async def _cas(self, statement: BoundStatement | BatchStatement) -> Page:
        try:
            return await self.db.execute_async(statement)
        except (WriteTimeout, OperationTimedOut) as exc:
            raise CasOutcomeUnknown(str(exc)) from exc

    # --- stock partitions ------------------------------------------------------

    async def counts(self, product_id: uuid.UUID, location: str, *, serial: bool) -> Counts:
        cql = (
            "SELECT on_hand, reserved, version FROM stock "
            "WHERE product_id = ? AND location = ? LIMIT 1"
        )
        if serial:
            page = await self._serial(cql, (product_id, location))
        else:
            page = await self.db.execute_async(cql, (product_id, location))
        row = page.one()
        if row is None or row.version is None:
            return NO_STOCK
        return Counts(int(row.on_hand or 0), int(row.reserved or 0), int(row.version))

    async def hold(self, product_id: uuid.UUID, location: str, hold_id: uuid.UUID) -> Hold | None:
        """One hold, read at SERIAL (the truth after a CAS whose outcome is unknown)."""
        page = await self._serial(
            "SELECT hold_id, order_id, quantity, state, expires_at FROM stock "
            "WHERE product_id = ? AND location = ? AND hold_id = ?",
            (product_id, location, hold_id),
        )
        row = page.one()
        if row is None or row.state is None:
            return None
        return self._hold(product_id, location, row)

    async def held(self, product_id: uuid.UUID, location: str) -> list[Hold]:
        """The partition's holds still in state `held` (reads every hold row: only on the
        slow paths, a shortfall that may be cured by expired holds)."""
        rows = await self.db.execute_all(
            "SELECT hold_id, order_id, quantity, state, expires_at FROM stock "
            "WHERE product_id = ? AND location = ?",
            (product_id, location),
            fetch_size=500,
        )
        return [
            self._hold(product_id, location, row)
            for row in rows
            if row.hold_id is not None and row.state == "held"
        ]

    @staticmethod
    def _hold(product_id: uuid.UUID, location: str, row: Any) -> Hold:
        return Hold(
            hold_id=row.hold_id,
            product_id=product_id,
            location=location,
            order_id=row.order_id,
            quantity=int(row.quantity),
            state=row.state,
            expires_at=_aware(row.expires_at),
        )

    async def set_on_hand(
        self, product_id: uuid.UUID, location: str, on_hand: int, expected: Counts
    ) -> CasResult:
        """Set on_hand if the partition is still at `expected.version` (reserved unchanged)."""
        if expected.exists:
            statement = await self._bound(
                "UPDATE stock SET on_hand = ?, version = ? "
                "WHERE product_id = ? AND location = ? IF version = ?",
                (on_hand, expected.version + 1, product_id, location, expected.version),
            )
        else:
            statement = await self._bound(
                "UPDATE stock SET on_hand = ?, reserved = 0, version = 1 "
                "WHERE product_id = ? AND location = ? IF version = null",
                (on_hand, product_id, location),
            )
        return self._result(await self._cas(statement), None)

    async def change_hold(
        self,
        *,
        expected: Counts,
        new: Counts,
        hold: Hold,
        previous_state: HoldState | None,
    ) -> CasResult:
        """Move the counts from `expected` to `new` and the hold from `previous_state`
        (None: it does not exist yet) to `hold.state`, in one CAS of the partition.

        A resolved hold (not `held`) is rewritten with a TTL: it stays as long as a
        retry of its order may come, then the row is gone."""
        if not 0 <= new.reserved <= new.on_hand:
            # The invariant is checked before every write, never repaired after.
            raise ValueError(
                f"refusing a write that breaks 0 <= reserved <= on_hand: {new} at "
                f"{hold.product_id}/{hold.location}"
            )
        ttl = 0 if hold.state == "held" else self.resolved_hold_ttl_seconds
        counts = await self._bound(
            "UPDATE stock SET on_hand = ?, reserved = ?, version = ? "
            # All three in the condition (version alone decides) so that a refused CAS
            # returns the current counts and the retry needs no read.
            "WHERE product_id = ? AND location = ? IF version = ? AND on_hand = ? AND reserved = ?",
            (
                new.on_hand,
                new.reserved,
                new.version,
                hold.product_id,
                hold.location,
                expected.version,
                expected.on_hand,
                expected.reserved,
            ),
        )
        hold_row = await self._bound(
            "UPDATE stock USING TTL ? SET order_id = ?, quantity = ?, state = ?, expires_at = ? "
            "WHERE product_id = ? AND location = ? AND hold_id = ? IF state = ?",
            (
                ttl,
                hold.order_id,
                hold.quantity,
                hold.state,
                hold.expires_at,
                hold.product_id,
                hold.location,
                hold.hold_id,
                previous_state,
            ),
        )
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)  # one partition: one mutation
        batch.add(counts)
        batch.add(hold_row)
        return self._result(await self._cas(batch), hold.hold_id)

    @staticmethod
    def _result(page: Page, hold_id: uuid.UUID | None) -> CasResult:
        if page.was_applied:
            return CasResult(applied=True)
        counts = NO_STOCK
        hold_state: str | None = None
        for row in page.rows:
            version = getattr(row, "version", None)
            if version is not None:
                counts = Counts(
                    int(getattr(row, "on_hand", None) or 0),
                    int(getattr(row, "reserved", None) or 0),
                    int(version),
                )
            if hold_id is not None and getattr(row, "hold_id", None) == hold_id:
                hold_state = row.state
        return CasResult(applied=False, counts=counts, hold_state=hold_state)

    # --- products --------------------------------------------------------------

    async def product(self, product_id: uuid.UUID, *, serial: bool = False) -> ProductRow | None:
        cql = (
            "SELECT locations, low_stock_threshold, seen_version, seen_available, low, "
            "lead_time_days, review_period_days, service_level FROM products WHERE product_id = ?"
        )
        page = (
            await self._serial(cql, (product_id,))
            if serial
            else await self.db.execute_async(cql, (product_id,))
        )
        row = page.one()
        if row is None:
            return None
        return ProductRow(
            product_id=product_id,
            locations=frozenset(row.locations or ()),
            low_stock_threshold=int(row.low_stock_threshold or 0),
            seen_version=int(row.seen_version or 0),
            seen_available=int(row.seen_available or 0),
            low=bool(row.low),
            lead_time_days=row.lead_time_days,
            review_period_days=row.review_period_days,
            service_level=row.service_level,
        )

    async def product_ids(self) -> list[uuid.UUID]:
        """Every product with a stock record (a full scan, paged)."""
        rows = await self.db.execute_all("SELECT product_id FROM products", (), fetch_size=5000)
        return [row.product_id for row in rows]

    async def set_reorder_settings(
        self, product_id: uuid.UUID, values: Mapping[str, float | None]
    ) -> None:
        """Set (or, with None, clear) the product's own reorder settings."""
        allowed = {"lead_time_days", "review_period_days", "service_level"}
        if not values:
            return
        if not set(values) <= allowed:
            raise ValueError(f"not a reorder setting: {sorted(set(values) - allowed)}")
        names = sorted(values)
        # Only the fixed column names above are interpolated; the values are bound.
        cql = (
            f"UPDATE products SET {', '.join(f'{name} = ?' for name in names)} "  # noqa: S608
            "WHERE product_id = ? IF EXISTS"
        )
        await self._cas(await self._bound(cql, [*(values[n] for n in names), product_id]))

    async def add_product_locations(
        self, product_id: uuid.UUID, locations: Iterable[str], threshold: int | None
    ) -> None:
        """Record new locations (never removed: holds are found through them) and the
        threshold. LWTs only, like every other write of the row's alert columns."""
        wanted = set(locations)
        created = await self._cas(
            await self._bound(
                "INSERT INTO products (product_id, locations, low_stock_threshold, "
                "seen_version, seen_available, low, updated_at) VALUES (?, ?, ?, 0, 0, false, ?) "
                "IF NOT EXISTS",
                (product_id, wanted, threshold or 0, datetime.now(UTC)),
            )
        )
        if created.was_applied:
            return
        if threshold is None:
            cql = "UPDATE products SET locations = locations + ? WHERE product_id = ? IF EXISTS"
            values: tuple[Any, ...] = (wanted, product_id)
        else:
            cql = (
                "UPDATE products SET locations = locations + ?, low_stock_threshold = ? "
                "WHERE product_id = ? IF EXISTS"
            )
            values = (wanted, threshold, product_id)
        await self._cas(await self._bound(cql, values))

    async def record_alert_state(
        self, product: ProductRow, *, version: int, available: int, low: bool
    ) -> bool:
        """Move the product's seen stock level forward, if nobody moved it meanwhile."""
        page = await self._cas(
            await self._bound(
                "UPDATE products SET seen_version = ?, seen_available = ?, low = ?, updated_at = ? "
                "WHERE product_id = ? IF seen_version = ? AND low = ? AND low_stock_threshold = ?",
                (
                    version,
                    available,
                    low,
                    datetime.now(UTC),
                    product.product_id,
                    product.seen_version,
                    product.low,
                    product.low_stock_threshold,
                ),
            )
        )
        return page.was_applied

    # --- reservations (one per order) ------------------------------------------

    async def reservation(self, order_id: uuid.UUID) -> Reservation | None:
        page = await self._serial(
            "SELECT state, lines, short, expires_at, reason, committed_at FROM reservations "
            "WHERE order_id = ?",
            (order_id,),
        )
        row = page.one()
        if row is None or row.state is None:
            return None
        return Reservation(
            order_id=order_id,
            state=row.state,
            lines=dict(row.lines or {}),
            short=dict(row.short or {}),
            expires_at=_aware(row.expires_at),
            reason=row.reason,
            committed_at=_aware(row.committed_at) if row.committed_at else None,
        )

    async def start_reservation(
        self, order_id: uuid.UUID, lines: Mapping[uuid.UUID, int], expires_at: datetime
    ) -> bool:
        """Record the order as `reserving` (and in the sweeper's index) unless it is known."""
        await self.db.execute_async(
            "INSERT INTO expiring_reservations (bucket, expires_at, order_id) VALUES (?, ?, ?)",
            (expiry_bucket(expires_at), expires_at, order_id),
        )
        page = await self._cas(
            await self._bound(
                "INSERT INTO reservations (order_id, state, lines, expires_at, updated_at) "
                "VALUES (?, 'reserving', ?, ?, ?) IF NOT EXISTS",
                (order_id, dict(lines), expires_at, datetime.now(UTC)),
            )
        )
        return page.was_applied

    async def transition(
        self,
        order_id: uuid.UUID,
        *,
        from_states: Sequence[ReservationState],
        to_state: ReservationState,
        reason: str | None = None,
        short: Mapping[uuid.UUID, int] | None = None,
        unexpired_at: datetime | None = None,
        expired_at: datetime | None = None,
    ) -> bool:
        """One LWT on the order's record: `to_state` if it is in `from_states` (and, when
        given, its holds expire after `unexpired_at` or expired by `expired_at`)."""
        placeholders = ", ".join("?" for _ in from_states)
        conditions = f"state IN ({placeholders})"
        now = datetime.now(UTC)
        values: list[Any] = [to_state, reason, dict(short or {}), now]
        committed = ""
        if to_state == "committed":
            # The day its units count as sold (daily_sales), fixed by the LWT that sold them.
            committed = ", committed_at = ?"
            values.append(now)
        values.append(order_id)
        values.extend(from_states)
        if unexpired_at is not None:
            conditions += " AND expires_at > ?"
            values.append(unexpired_at)
        if expired_at is not None:
            conditions += " AND expires_at <= ?"
            values.append(expired_at)
        # Only placeholders are interpolated; the values are bound.
        cql = (
            "UPDATE reservations SET state = ?, reason = ?, short = ?, updated_at = ?"  # noqa: S608
            f"{committed} WHERE order_id = ? IF {conditions}"
        )
        page = await self._cas(await self._bound(cql, values))
        return page.was_applied

    async def expiring(self, bucket: int) -> list[tuple[datetime, uuid.UUID]]:
        rows = await self.db.execute_all(
            "SELECT expires_at, order_id FROM expiring_reservations WHERE bucket = ?",
            (bucket,),
            fetch_size=1000,
        )
        return [(_aware(row.expires_at), row.order_id) for row in rows]

    async def forget_expiring(self, expires_at: datetime, order_id: uuid.UUID) -> None:
        await self.db.execute_async(
            "DELETE FROM expiring_reservations WHERE bucket = ? AND expires_at = ? "
            "AND order_id = ?",
            (expiry_bucket(expires_at), expires_at, order_id),
        )

    # --- the low-stock list ------------------------------------------------------

    async def mark_low(self, product_id: uuid.UUID, available: int, threshold: int) -> None:
        await self.db.execute_async(
            "INSERT INTO low_stock (shard, product_id, available, threshold, since) "
            "VALUES (?, ?, ?, ?, ?)",
            (_LOW_STOCK_SHARD, product_id, available, threshold, datetime.now(UTC)),
        )

    async def clear_low(self, product_id: uuid.UUID) -> None:
        await self.db.execute_async(
            "DELETE FROM low_stock WHERE shard = ? AND product_id = ?",
            (_LOW_STOCK_SHARD, product_id),
        )

    async def low_stock(self, limit: int) -> list[LowStockRow]:
        page = await self.db.execute_async(
            "SELECT product_id, available, threshold, since FROM low_stock WHERE shard = ? LIMIT ?",
            (_LOW_STOCK_SHARD, limit),
        )
        return [
            LowStockRow(row.product_id, int(row.available), int(row.threshold), _aware(row.since))
            for row in page.rows
        ]
