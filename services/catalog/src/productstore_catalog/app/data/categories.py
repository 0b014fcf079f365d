"""Categories in Cassandra, keyed by slug. Every write is an LWT (create must not
overwrite, update and delete must not resurrect), and mixing LWT and plain
writes on one row is unsafe, so there are no plain writes."""

# ruff: noqa: S608 - CQL names only constant columns and tables; values are always bound

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from productstore_catalog.app.data.clock import as_utc
from productstore_common.cassandra import CassandraSession

_COLUMNS = "slug, name, description, created_at, updated_at"


@dataclass(frozen=True)
class CategoryRecord:
    slug: str
    name: str
    description: str
    created_at: datetime
    updated_at: datetime


def _category(row: Any) -> CategoryRecord:
    return CategoryRecord(
        slug=row.slug,
        name=row.name,
        description=row.description or "",
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def _now_ms() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class CategoryStore:
    def __init__(self, db: CassandraSession) -> None:
        self.db = db

    async def create(self, slug: str, name: str, description: str) -> CategoryRecord | None:
        """The new category, or None when the slug is taken."""
        now = _now_ms()
        result = await self.db.execute_async(
            f"INSERT INTO categories ({_COLUMNS}) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS",
            (slug, name, description, now, now),
        )
        if not result.was_applied:
            return None
        return CategoryRecord(slug, name, description, now, now)

    async def get(self, slug: str) -> CategoryRecord | None:
        page = await self.db.execute_async(
            f"SELECT {_COLUMNS} FROM categories WHERE slug = ?", (slug,)
        )
        row = page.one()
        return _category(row) if row is not None else None

    async def all(self) -> list[CategoryRecord]:
        """Every category, by slug (a small table: a store has hundreds, not millions)."""
        rows = await self.db.execute_all(f"SELECT {_COLUMNS} FROM categories")
        return sorted((_category(row) for row in rows), key=lambda category: category.slug)

    async def update(self, slug: str, name: str, description: str) -> CategoryRecord | None:
        """The updated category, or None when there is none."""
        result = await self.db.execute_async(
            "UPDATE categories SET name = ?, description = ?, updated_at = ? WHERE slug = ? "
            "IF EXISTS",
            (name, description, _now_ms(), slug),
        )
        return await self.get(slug) if result.was_applied else None

    async def delete(self, slug: str) -> bool:
        """False when there was no such category."""
        result = await self.db.execute_async(
            "DELETE FROM categories WHERE slug = ? IF EXISTS", (slug,)
        )
        return bool(result.was_applied)
