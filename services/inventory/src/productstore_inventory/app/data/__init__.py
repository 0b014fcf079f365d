"""Everything that talks to Cassandra, and the stock stream's read of the Kafka
topic; nothing above this layer does."""

from __future__ import annotations

from pathlib import Path

from productstore_common import kit


def migrations_dir() -> Path:
    """The inventory's CQL migrations (inside the wheel, or services/inventory/migrations)."""
    return kit.migrations_dir(__file__)
