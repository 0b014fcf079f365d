"""Everything that talks to Cassandra and to other services; nothing above this layer does."""

from __future__ import annotations

from pathlib import Path

from productstore_common import kit


def migrations_dir() -> Path:
    """The wishlist's CQL migrations (inside the wheel, or services/wishlist/migrations)."""
    return kit.migrations_dir(__file__)
