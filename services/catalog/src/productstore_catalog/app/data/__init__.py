"""Everything that talks to Cassandra, Redis or Kafka; nothing above this layer does."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[2]


def migrations_dir() -> Path:
    """The service's CQL migrations: inside the installed wheel, or the source tree's folder."""
    packaged = _PACKAGE / "migrations"
    if packaged.is_dir():
        return packaged
    # An editable (workspace) install: services/catalog/src/productstore_catalog -> ../..
    return _PACKAGE.parents[1] / "migrations"
