"""Versions and timestamps of product writes.

A product's `version` is its write time in microseconds since the epoch, made
to grow by at least 1 per write of that product. Rows are written `USING
TIMESTAMP <version>`, so Cassandra's last-write-wins picks the same write
that the cache and the search index keep (they keep the largest version).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def next_version(previous: int | None = None) -> int:
    now = time.time_ns() // 1000
    return now if previous is None else max(now, previous + 1)


def version_time(version: int) -> datetime:
    """The version as a timestamp at Cassandra's millisecond precision."""
    return datetime.fromtimestamp(version // 1000 / 1000, UTC)


def as_utc(value: datetime) -> datetime:
    """A driver timestamp (naive, but UTC) as an aware datetime."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
