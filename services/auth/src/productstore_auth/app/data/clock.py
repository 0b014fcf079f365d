"""Timestamps as Cassandra keeps them: UTC, millisecond precision."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def now_ms() -> datetime:
    """Now, at Cassandra's millisecond precision, so a record equals its re-read."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def as_utc(value: datetime) -> datetime:
    """A driver timestamp (naive, but UTC) as an aware datetime."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def as_utc_or_none(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def ttl_seconds(expires_at: datetime, now: datetime) -> int:
    """The TTL that ends a row at `expires_at`: whole seconds, at least 1 (CQL's minimum)."""
    return max(1, math.ceil((expires_at - now).total_seconds()))
