"""Notice claims, back-in-stock waves and the outbox, in Cassandra.

A claim is a lightweight transaction on its own partition, (product, user, day,
kind): whoever inserts it first tells the user; a later event finds it and does not.
The fan-out of the event that made a claim may publish again on a redelivery (the
claim names its cause), which is safe because a notice's id is derived from the
claim's key.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from cassandra.util import Date

from productstore_common.cassandra import CassandraSession
from productstore_common.events import CloudEvent, Outbox

_CLAIM = (
    "INSERT INTO notice_claims (product_id, user_id, day, kind, cause) VALUES (?, ?, ?, ?, ?) "
    "IF NOT EXISTS"
)
_WAVE_OPEN = (
    "INSERT INTO restock_waves (product_id, run, day, wave, available, stock_version, "
    "next_wave_at) VALUES (?, ?, ?, 0, ?, ?, ?) IF NOT EXISTS"
)
_WAVE_GET = (
    "SELECT product_id, run, day, wave, available, stock_version, next_wave_at "
    "FROM restock_waves WHERE product_id = ?"
)
_WAVE_STOCK = (
    "UPDATE restock_waves SET available = ?, stock_version = ? WHERE product_id = ? "
    "IF stock_version < ?"
)
_WAVE_RESTART = (
    "UPDATE restock_waves SET run = ?, day = ?, wave = 0, available = ?, stock_version = ?, "
    "next_wave_at = ? WHERE product_id = ? IF wave = ?"
)
_WAVE_TAKE = "UPDATE restock_waves SET wave = ?, next_wave_at = ? WHERE product_id = ? IF wave = ?"
_WAVE_END = "DELETE FROM restock_waves WHERE product_id = ? IF wave = ?"
_WAVES = "SELECT product_id FROM restock_waves"


@dataclass(frozen=True)
class Wave:
    """A product's return to stock as its waves go out."""

    product_id: uuid.UUID
    run: uuid.UUID
    day: date
    wave: int
    available: int
    stock_version: int
    next_wave_at: datetime


def _day(value: Any) -> date:
    return value.date() if isinstance(value, Date) else value  # type: ignore[no-any-return]


def _wave(row: Any) -> Wave:
    at: datetime = row.next_wave_at
    return Wave(
        product_id=row.product_id,
        run=row.run,
        day=_day(row.day),
        wave=row.wave,
        available=row.available,
        stock_version=row.stock_version,
        next_wave_at=at if at.tzinfo else at.replace(tzinfo=UTC),
    )


class NoticeStore:
    def __init__(self, db: CassandraSession, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    async def claim(
        self, product_id: uuid.UUID, user_id: uuid.UUID, day: date, kind: str, cause: uuid.UUID
    ) -> bool:
        """Whether this event may tell the user: it made the claim, or made it before."""
        page = await self.db.execute_async(_CLAIM, (product_id, user_id, day, kind, cause))
        if page.was_applied:
            return True
        existing = page.one()[list(page.column_names).index("cause")]
        return bool(existing == cause)

    async def publish(self, events: Sequence[CloudEvent[Any]]) -> None:
        """The notices, through the outbox (one logged batch)."""
        if events:
            await self.outbox.write([], events)

    async def wave(self, product_id: uuid.UUID) -> Wave | None:
        row = (await self.db.execute_async(_WAVE_GET, (product_id,))).one()
        return None if row is None else _wave(row)

    async def open_wave(
        self, product_id: uuid.UUID, day: date, available: int, version: int, at: datetime
    ) -> bool:
        page = await self.db.execute_async(
            _WAVE_OPEN, (product_id, uuid.uuid4(), day, available, version, at)
        )
        return page.was_applied

    async def restart_wave(
        self, found: Wave, day: date, available: int, version: int, at: datetime
    ) -> bool:
        """A new return (a later BackInStock) starts the waves over."""
        page = await self.db.execute_async(
            _WAVE_RESTART,
            (uuid.uuid4(), day, available, version, at, found.product_id, found.wave),
        )
        return page.was_applied

    async def update_stock(self, product_id: uuid.UUID, available: int, version: int) -> bool:
        """Keep the newest stock of an open return; False if none is open or it is newer."""
        page = await self.db.execute_async(_WAVE_STOCK, (available, version, product_id, version))
        return page.was_applied

    async def take_wave(self, found: Wave, next_wave_at: datetime) -> bool:
        """Claim the next wave (one replica wins it)."""
        page = await self.db.execute_async(
            _WAVE_TAKE, (found.wave + 1, next_wave_at, found.product_id, found.wave)
        )
        return page.was_applied

    async def end_wave(self, product_id: uuid.UUID, wave: int) -> None:
        await self.db.execute_async(_WAVE_END, (product_id, wave))

    async def open_waves(self) -> list[uuid.UUID]:
        """Products whose return still has users to tell (a small table)."""
        return [row.product_id for row in await self.db.execute_all(_WAVES)]
