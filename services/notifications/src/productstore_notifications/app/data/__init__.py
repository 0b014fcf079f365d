"""Everything that talks to Cassandra; nothing above this layer does."""

from __future__ import annotations

from pathlib import Path

from productstore_common import kit


def migrations_dir() -> Path:
    """The CQL migrations (inside the wheel, or services/notifications/migrations)."""
    return kit.migrations_dir(__file__)
