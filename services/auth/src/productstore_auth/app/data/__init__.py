"""Everything that talks to Cassandra, Redis or Vault; nothing above this layer does."""

from __future__ import annotations

from pathlib import Path

from productstore_common import kit


def migrations_dir() -> Path:
    """auth's CQL migrations (inside the wheel, or services/auth/migrations)."""
    return kit.migrations_dir(__file__)
