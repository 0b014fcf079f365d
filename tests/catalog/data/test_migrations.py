"""The catalog's migrations: the event tables are common's file, copied unchanged."""

from __future__ import annotations

from productstore_catalog.app.data import migrations_dir
from productstore_common.events import event_tables_cql


def test_the_event_tables_are_an_unchanged_copy() -> None:
    copy = migrations_dir() / "V0002__event_tables.cql"
    assert copy.read_text() == event_tables_cql()


def test_versions_are_numbered_without_gaps() -> None:
    names = sorted(path.name for path in migrations_dir().glob("V*.cql"))
    assert [name[:5] for name in names] == [f"V{n:04d}" for n in range(1, len(names) + 1)]
