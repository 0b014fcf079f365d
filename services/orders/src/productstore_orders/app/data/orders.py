"""Cassandra access of orders: checkout claims, the order row with its events, the
compare-and-set transitions of its status, and the listings.

An order is written once, in one logged batch with its OrderPlaced outbox row and
its index rows, at the checkout's own write timestamp: a retry of the batch (the
client retried, the first try's outcome unknown) rewrites the same values at the
same timestamp and cannot undo a later transition, whose Paxos ballot is newer.
Every later change of `status` is a lightweight transaction conditioned on the
status it leaves, so a redelivered event or two racing admins change it once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cassandra.query import BoundStatement

from productstore_common.cassandra import CassandraSession
from productstore_common.events import CloudEvent, Outbox


@dataclass(frozen=True)
class LineRecord:
    product_id: uuid.UUID
    name: str
    quantity: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class ShortRecord:
    product_id: uuid.UUID
    requested: int
    available: int


@dataclass(frozen=True)
class OrderRecord:
    order_id: uuid.UUID
    user_id: uuid.UUID
    status: str
    lines: tuple[LineRecord, ...]
    total: Decimal
    currency: str
    shipping_address: dict[str, Any]
    payment_token: str
    created_at: datetime
    updated_at: datetime
    from_cart: bool = False
    payment_id: str | None = None
    short: tuple[ShortRecord, ...] = ()
    cancel_reason: str | None = None
    hold_expires_at: datetime | None = None


@dataclass(frozen=True)
class Claim:
    """A checkout's claim of its Idempotency-Key: which order, for which request."""

    order_id: uuid.UUID
    request_hash: str
    created_at: datetime
    new: bool


@dataclass(frozen=True)
class Transition:
    """The outcome of a compare-and-set on an order's status."""

    applied: bool
    status: str | None  # the status now (None: no such order)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _lines_json(lines: Sequence[LineRecord]) -> str:
    return json.dumps(
        [
            {
                "product_id": str(line.product_id),
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
            }
            for line in lines
        ]
    )


def _short_json(short: Sequence[ShortRecord]) -> str:
    return json.dumps(
        [
            {"product_id": str(s.product_id), "requested": s.requested, "available": s.available}
            for s in short
        ]
    )


_ORDER_COLUMNS = (
    "order_id, user_id, status, lines, total, currency, shipping_address, payment_token, "
    "payment_id, from_cart, short, cancel_reason, hold_expires_at, created_at, updated_at"
)
# Columns a transition may set beside status and updated_at.
_SETTABLE = frozenset({"payment_id", "short", "cancel_reason", "hold_expires_at"})


class OrderStore:
    """The orders' tables; statements prepared on first use."""

    def __init__(self, db: CassandraSession, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    async def _bound(self, cql: str, values: Sequence[Any]) -> BoundStatement:
        prepared = await self.db.prepare_async(cql)
        return prepared.bind(values)

    # --- checkout ------------------------------------------------------------------

    async def claim(self, user_id: uuid.UUID, key: str, request_hash: str, now: datetime) -> Claim:
        """Claim `key` for a new order, or find the order an earlier claim made."""
        order_id = uuid.uuid4()
        page = await self.db.execute_async(
            "INSERT INTO checkouts (user_id, idempotency_key, request_hash, order_id, created_at) "
            "VALUES (?, ?, ?, ?, ?) IF NOT EXISTS",
            (user_id, key, request_hash, order_id, now),
        )
        if page.was_applied:
            return Claim(order_id, request_hash, now, new=True)
        row = page.one()
        return Claim(row.order_id, row.request_hash, _utc(row.created_at), new=False)

    async def place(self, order: OrderRecord, events: Sequence[CloudEvent[Any]]) -> None:
        """Write the order, its index rows and its events in one logged batch, at the
        order's creation time (idempotent: a replay changes nothing later)."""
        stamp = _micros(order.created_at)
        statements = [
            await self._bound(
                f"INSERT INTO orders ({_ORDER_COLUMNS}) "  # noqa: S608 - constant columns
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?",
                (
                    order.order_id,
                    order.user_id,
                    order.status,
                    _lines_json(order.lines),
                    order.total,
                    order.currency,
                    json.dumps(order.shipping_address),
                    order.payment_token,
                    None,
                    order.from_cart,
                    _short_json(()),
                    None,
                    None,
                    order.created_at,
                    order.updated_at,
                    stamp,
                ),
            ),
            await self._bound(
                "INSERT INTO orders_by_user (user_id, created_at, order_id) VALUES (?, ?, ?) "
                "USING TIMESTAMP ?",
                (order.user_id, order.created_at, order.order_id, stamp),
            ),
            await self._bound(
                "INSERT INTO orders_by_status (status, created_at, order_id) VALUES (?, ?, ?) "
                "USING TIMESTAMP ?",
                (order.status, order.created_at, order.order_id, stamp),
            ),
        ]
        await self.outbox.write(statements, events)

    # --- reads -----------------------------------------------------------------------

    async def get(self, order_id: uuid.UUID) -> OrderRecord | None:
        page = await self.db.execute_async(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE order_id = ?",  # noqa: S608 - constant
            (order_id,),
        )
        row = page.one()
        return None if row is None or row.status is None else _record(row)

    async def of_user(self, user_id: uuid.UUID, limit: int) -> list[uuid.UUID]:
        page = await self.db.execute_async(
            "SELECT order_id FROM orders_by_user WHERE user_id = ? LIMIT ?", (user_id, limit)
        )
        return [row.order_id for row in page.rows]

    async def with_status(self, status: str, limit: int) -> list[uuid.UUID]:
        page = await self.db.execute_async(
            "SELECT order_id FROM orders_by_status WHERE status = ? LIMIT ?", (status, limit)
        )
        return [row.order_id for row in page.rows]

    async def recent(self, limit: int) -> list[uuid.UUID]:
        """Any orders (an admin's unfiltered list): a bounded scan, not in time order."""
        page = await self.db.execute_async("SELECT order_id FROM orders LIMIT ?", (limit,))
        return [row.order_id for row in page.rows]

    # --- transitions -------------------------------------------------------------------

    async def transition(
        self,
        order_id: uuid.UUID,
        expected: str,
        status: str,
        now: datetime,
        **changes: Any,
    ) -> Transition:
        """Set `status` (and `changes`) if the order is `expected` now."""
        unknown = set(changes) - _SETTABLE
        if unknown:
            raise ValueError(f"a transition cannot set {sorted(unknown)}")
        values: dict[str, Any] = {"status": status, "updated_at": now}
        for name, value in changes.items():
            values[name] = _short_json(value) if name == "short" else value
        assignments = ", ".join(f"{name} = ?" for name in values)
        page = await self.db.execute_async(
            # Names from _SETTABLE only; values are bound.
            f"UPDATE orders SET {assignments} WHERE order_id = ? IF status = ?",  # noqa: S608
            (*values.values(), order_id, expected),
        )
        if page.was_applied:
            return Transition(True, status)
        # Not applied: the row carries the status it found (none for a missing order).
        return Transition(False, getattr(page.one(), "status", None))

    async def announce(
        self,
        order: OrderRecord,
        previous: str,
        events: Sequence[CloudEvent[Any]],
    ) -> None:
        """After a transition: move the status index and record its events (with ids
        fixed by the transition, so doing this twice publishes the same events)."""
        statements = [
            await self._bound(
                "INSERT INTO orders_by_status (status, created_at, order_id) VALUES (?, ?, ?)",
                (order.status, order.created_at, order.order_id),
            )
        ]
        if previous != order.status:
            # In one batch a delete and an insert of the same row tie, and the delete wins.
            statements.append(
                await self._bound(
                    "DELETE FROM orders_by_status WHERE status = ? AND created_at = ? "
                    "AND order_id = ?",
                    (previous, order.created_at, order.order_id),
                )
            )
        await self.outbox.write(statements, events)


def _record(row: Any) -> OrderRecord:
    created = _utc(row.created_at)
    updated = _utc(row.updated_at)
    return OrderRecord(
        order_id=row.order_id,
        user_id=row.user_id,
        status=row.status,
        lines=tuple(
            LineRecord(
                product_id=uuid.UUID(item["product_id"]),
                name=item["name"],
                quantity=int(item["quantity"]),
                unit_price=Decimal(item["unit_price"]),
            )
            for item in json.loads(row.lines)
        ),
        total=row.total,
        currency=row.currency,
        shipping_address=json.loads(row.shipping_address),
        payment_token=row.payment_token,
        created_at=created,
        updated_at=updated,
        from_cart=bool(row.from_cart),
        payment_id=row.payment_id,
        short=tuple(
            ShortRecord(uuid.UUID(s["product_id"]), int(s["requested"]), int(s["available"]))
            for s in json.loads(row.short or "[]")
        ),
        cancel_reason=row.cancel_reason,
        hold_expires_at=_aware(row.hold_expires_at),
    )
