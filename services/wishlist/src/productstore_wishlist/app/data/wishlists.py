"""Wishlists in Cassandra: lists, items, the by-product index, share links, followers.

An item is written to the list's partition and to the product's (`product_wishlists`,
what the fan-out reads) in one logged batch, so the two never disagree for long.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cassandra.query import BatchStatement, BatchType

from productstore_common.cassandra import CassandraSession

_CREATE = (
    "INSERT INTO wishlists (wishlist_id, owner_id, name, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?)"
)
_OWN = "INSERT INTO user_wishlists (owner_id, wishlist_id) VALUES (?, ?)"
_GET = (
    "SELECT wishlist_id, owner_id, name, share_token, created_at, updated_at "
    "FROM wishlists WHERE wishlist_id = ?"
)
_OWNED = "SELECT wishlist_id FROM user_wishlists WHERE owner_id = ?"
_TOUCH = "UPDATE wishlists SET updated_at = ? WHERE wishlist_id = ?"
_ITEMS = "SELECT product_id, added_at FROM wishlist_items WHERE wishlist_id = ?"
_COUNT_ITEMS = "SELECT COUNT(*) FROM wishlist_items WHERE wishlist_id = ?"
_HAS_ITEM = "SELECT added_at FROM wishlist_items WHERE wishlist_id = ? AND product_id = ?"
_ADD_ITEM = "INSERT INTO wishlist_items (wishlist_id, product_id, added_at) VALUES (?, ?, ?)"
_INDEX = "INSERT INTO product_wishlists (product_id, wishlist_id, owner_id) VALUES (?, ?, ?)"
_REMOVE_ITEM = "DELETE FROM wishlist_items WHERE wishlist_id = ? AND product_id = ?"
_UNINDEX = "DELETE FROM product_wishlists WHERE product_id = ? AND wishlist_id = ?"
_HOLDERS = "SELECT wishlist_id, owner_id FROM product_wishlists WHERE product_id = ?"
_SET_SHARE = "UPDATE wishlists SET share_token = ?, updated_at = ? WHERE wishlist_id = ?"
_LINK = "INSERT INTO share_links (link_token, wishlist_id) VALUES (?, ?)"
_UNLINK = "DELETE FROM share_links WHERE link_token = ?"
_LINKED = "SELECT wishlist_id FROM share_links WHERE link_token = ?"
_FOLLOW = "INSERT INTO wishlist_followers (wishlist_id, user_id, followed_at) VALUES (?, ?, ?)"
_FOLLOWING = "INSERT INTO user_follows (user_id, wishlist_id, followed_at) VALUES (?, ?, ?)"
_FOLLOWERS = "SELECT user_id FROM wishlist_followers WHERE wishlist_id = ?"
_FOLLOWED = "SELECT wishlist_id, followed_at FROM user_follows WHERE user_id = ?"
_UNFOLLOW_ALL = "DELETE FROM wishlist_followers WHERE wishlist_id = ?"
_UNFOLLOWING = "DELETE FROM user_follows WHERE user_id = ? AND wishlist_id = ?"


@dataclass(frozen=True)
class WishlistRow:
    wishlist_id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    share_token: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ItemRow:
    product_id: uuid.UUID
    added_at: datetime


@dataclass(frozen=True)
class Holder:
    """A list holding a product, as the fan-out reads it."""

    wishlist_id: uuid.UUID
    owner_id: uuid.UUID


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _row(row: Any) -> WishlistRow:
    return WishlistRow(
        wishlist_id=row.wishlist_id,
        owner_id=row.owner_id,
        name=row.name or "",
        share_token=row.share_token,
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
    )


class WishlistStore:
    def __init__(self, db: CassandraSession) -> None:
        self.db = db

    async def _batch(self, *statements: tuple[str, tuple[Any, ...]]) -> None:
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        for cql, values in statements:
            batch.add((await self.db.prepare_async(cql)).bind(values))
        await self.db.execute_async(batch)

    async def create(self, row: WishlistRow) -> None:
        await self._batch(
            (
                _CREATE,
                (row.wishlist_id, row.owner_id, row.name, row.created_at, row.updated_at),
            ),
            (_OWN, (row.owner_id, row.wishlist_id)),
        )

    async def get(self, wishlist_id: uuid.UUID) -> WishlistRow | None:
        row = (await self.db.execute_async(_GET, (wishlist_id,))).one()
        return None if row is None else _row(row)

    async def owned(self, owner_id: uuid.UUID) -> list[uuid.UUID]:
        return [row.wishlist_id for row in await self.db.execute_all(_OWNED, (owner_id,))]

    async def items(self, wishlist_id: uuid.UUID) -> list[ItemRow]:
        rows = await self.db.execute_all(_ITEMS, (wishlist_id,))
        return [ItemRow(product_id=r.product_id, added_at=_utc(r.added_at)) for r in rows]

    async def count_items(self, wishlist_id: uuid.UUID) -> int:
        count: int = (await self.db.execute_async(_COUNT_ITEMS, (wishlist_id,))).one()[0]
        return count

    async def has_item(self, wishlist_id: uuid.UUID, product_id: uuid.UUID) -> bool:
        page = await self.db.execute_async(_HAS_ITEM, (wishlist_id, product_id))
        return page.one() is not None

    async def add_item(self, row: WishlistRow, product_id: uuid.UUID, at: datetime) -> None:
        await self._batch(
            (_ADD_ITEM, (row.wishlist_id, product_id, at)),
            (_INDEX, (product_id, row.wishlist_id, row.owner_id)),
            (_TOUCH, (at, row.wishlist_id)),
        )

    async def remove_item(
        self, wishlist_id: uuid.UUID, product_id: uuid.UUID, at: datetime
    ) -> None:
        await self._batch(
            (_REMOVE_ITEM, (wishlist_id, product_id)),
            (_UNINDEX, (product_id, wishlist_id)),
            (_TOUCH, (at, wishlist_id)),
        )

    async def holders(self, product_id: uuid.UUID, page_size: int) -> AsyncIterator[list[Holder]]:
        """Every list holding the product, a page at a time."""
        paging_state: bytes | None = None
        while True:
            page = await self.db.execute_async(
                _HOLDERS, (product_id,), paging_state=paging_state, fetch_size=page_size
            )
            yield [Holder(wishlist_id=r.wishlist_id, owner_id=r.owner_id) for r in page.rows]
            if page.paging_state is None:
                return
            paging_state = page.paging_state

    async def share(
        self, wishlist_id: uuid.UUID, token: str, old: str | None, at: datetime
    ) -> None:
        """Link `token` to the list (replacing `old`, whose link stops working)."""
        statements: list[tuple[str, tuple[Any, ...]]] = [
            (_LINK, (token, wishlist_id)),
            (_SET_SHARE, (token, at, wishlist_id)),
        ]
        if old is not None:
            statements.append((_UNLINK, (old,)))
        await self._batch(*statements)

    async def unshare(
        self, wishlist_id: uuid.UUID, token: str, followers: list[uuid.UUID], at: datetime
    ) -> None:
        """The link goes, and with it the followers (a new link starts with none)."""
        await self._batch(
            (_SET_SHARE, (None, at, wishlist_id)),
            (_UNLINK, (token,)),
            (_UNFOLLOW_ALL, (wishlist_id,)),
            *((_UNFOLLOWING, (user, wishlist_id)) for user in followers),
        )

    async def linked(self, token: str) -> uuid.UUID | None:
        row = (await self.db.execute_async(_LINKED, (token,))).one()
        return None if row is None else row.wishlist_id

    async def follow(self, wishlist_id: uuid.UUID, user_id: uuid.UUID, at: datetime) -> None:
        await self._batch(
            (_FOLLOW, (wishlist_id, user_id, at)), (_FOLLOWING, (user_id, wishlist_id, at))
        )

    async def followers(self, wishlist_id: uuid.UUID) -> list[uuid.UUID]:
        return [row.user_id for row in await self.db.execute_all(_FOLLOWERS, (wishlist_id,))]

    async def followed(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        return [row.wishlist_id for row in await self.db.execute_all(_FOLLOWED, (user_id,))]
