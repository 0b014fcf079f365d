"""Wishlists: owners write, anyone with a link reads, followers follow.

Every write checks the owner first; a product is checked against the catalog
before it is added. A share link works only while the list's row still names its
token, so revoking (or replacing) a link stops it at the next read.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import UTC, datetime

from productstore_wishlist.app.core import errors
from productstore_wishlist.app.data.callees import Callees, CalleeUnavailable, CartAnswer
from productstore_wishlist.app.data.wishlists import ItemRow, WishlistRow, WishlistStore

# 24 random bytes: 192 bits, 32 URL-safe characters.
TOKEN_BYTES = 24


class Wishlists:
    def __init__(
        self, store: WishlistStore, callees: Callees, *, max_wishlists: int, max_items: int
    ) -> None:
        self.store = store
        self.callees = callees
        self.max_wishlists = max_wishlists
        self.max_items = max_items

    async def create(self, owner_id: uuid.UUID, name: str) -> WishlistRow:
        if len(await self.store.owned(owner_id)) >= self.max_wishlists:
            raise errors.too_many_wishlists(self.max_wishlists)
        now = datetime.now(UTC)
        row = WishlistRow(
            wishlist_id=uuid.uuid4(),
            owner_id=owner_id,
            name=name,
            share_token=None,
            created_at=now,
            updated_at=now,
        )
        await self.store.create(row)
        return row

    async def owned(self, owner_id: uuid.UUID, wishlist_id: uuid.UUID) -> WishlistRow:
        """The list if `owner_id` owns it; 404 if it does not exist, 403 if another's."""
        row = await self.store.get(wishlist_id)
        if row is None:
            raise errors.wishlist_not_found(wishlist_id)
        if row.owner_id != owner_id:
            raise errors.not_the_owner(wishlist_id)
        return row

    async def view(self, row: WishlistRow) -> tuple[list[ItemRow], int]:
        items, followers = await asyncio.gather(
            self.store.items(row.wishlist_id), self.store.followers(row.wishlist_id)
        )
        return sorted(items, key=lambda i: i.added_at), len(followers)

    async def mine(self, owner_id: uuid.UUID) -> list[WishlistRow]:
        rows = await asyncio.gather(*(self.store.get(w) for w in await self.store.owned(owner_id)))
        found = [row for row in rows if row is not None and row.owner_id == owner_id]
        return sorted(found, key=lambda r: r.created_at)

    async def following(self, user_id: uuid.UUID) -> list[WishlistRow]:
        """Lists the user follows whose link still works."""
        rows = await asyncio.gather(
            *(self.store.get(w) for w in await self.store.followed(user_id))
        )
        return [row for row in rows if row is not None and row.share_token is not None]

    async def put_item(
        self, owner_id: uuid.UUID, wishlist_id: uuid.UUID, product_id: uuid.UUID
    ) -> WishlistRow:
        """Add the product (a product already on the list stays as it was)."""
        row = await self.owned(owner_id, wishlist_id)
        if await self.store.has_item(wishlist_id, product_id):
            return row
        if await self.store.count_items(wishlist_id) >= self.max_items:
            raise errors.wishlist_full(wishlist_id, self.max_items)
        try:
            product = await self.callees.product(product_id)
        except CalleeUnavailable as exc:
            raise errors.callee_unavailable(exc.callee) from exc
        if product is None:
            raise errors.product_not_found(product_id)
        await self.store.add_item(row, product_id, datetime.now(UTC))
        return row

    async def remove_item(
        self, owner_id: uuid.UUID, wishlist_id: uuid.UUID, product_id: uuid.UUID
    ) -> WishlistRow:
        row = await self.owned(owner_id, wishlist_id)
        if not await self.store.has_item(wishlist_id, product_id):
            raise errors.item_not_found(wishlist_id, product_id)
        await self.store.remove_item(wishlist_id, product_id, datetime.now(UTC))
        return row

    async def share(self, owner_id: uuid.UUID, wishlist_id: uuid.UUID) -> str:
        """A new link; the previous one, if any, stops working."""
        row = await self.owned(owner_id, wishlist_id)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        await self.store.share(wishlist_id, token, row.share_token, datetime.now(UTC))
        return token

    async def unshare(self, owner_id: uuid.UUID, wishlist_id: uuid.UUID) -> None:
        """Revoke the link and drop its followers (nothing to do if not shared)."""
        row = await self.owned(owner_id, wishlist_id)
        if row.share_token is not None:
            followers = await self.store.followers(wishlist_id)
            await self.store.unshare(wishlist_id, row.share_token, followers, datetime.now(UTC))

    async def shared(self, token: str) -> WishlistRow:
        """The list behind a working link, else 404."""
        wishlist_id = await self.store.linked(token)
        row = None if wishlist_id is None else await self.store.get(wishlist_id)
        # Both must still agree: a revoke clears the row's token and deletes the link.
        if (
            row is None
            or row.share_token is None
            or not secrets.compare_digest(row.share_token, token)
        ):
            raise errors.share_link_not_found()
        return row

    async def follow(self, user_id: uuid.UUID, token: str) -> WishlistRow:
        row = await self.shared(token)
        if row.owner_id == user_id:
            raise errors.own_wishlist(row.wishlist_id)
        await self.store.follow(row.wishlist_id, user_id, datetime.now(UTC))
        return row

    async def to_cart(
        self,
        owner_id: uuid.UUID,
        token: str,
        wishlist_id: uuid.UUID,
        product_id: uuid.UUID,
        quantity: int,
    ) -> CartAnswer:
        """Put an item of a list the user owns, or follows while it is shared, in the
        user's own cart (orders decides what a cart may hold)."""
        row = await self.store.get(wishlist_id)
        if row is None:
            raise errors.wishlist_not_found(wishlist_id)
        if row.owner_id != owner_id and (
            row.share_token is None or owner_id not in await self.store.followers(wishlist_id)
        ):
            raise errors.wishlist_not_found(wishlist_id)
        if not await self.store.has_item(wishlist_id, product_id):
            raise errors.item_not_found(wishlist_id, product_id)
        try:
            answer = await self.callees.put_in_cart(token, product_id, quantity)
        except CalleeUnavailable as exc:
            raise errors.callee_unavailable(exc.callee) from exc
        if answer.status != 200:
            raise errors.cart_refused(product_id, answer.status, answer.detail)
        return answer
