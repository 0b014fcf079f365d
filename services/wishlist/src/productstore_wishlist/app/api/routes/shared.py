"""Shared lists: anyone with the link reads; signed-in users follow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from productstore_common.openapi import problems
from productstore_wishlist.app.api.deps import UserId, WishlistsDep
from productstore_wishlist.app.api.routes.wishlists import shared_view
from productstore_wishlist.app.models import SharedWishlistPublic

router = APIRouter(prefix="/api/wishlists/shared", tags=["shared wishlists"])

Token = Annotated[
    str,
    Path(
        min_length=16,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The token of the list's share link",
    ),
]
_GONE = "No such link, or its owner revoked it (`share_link_not_found`)"


@router.get(
    "/{token}",
    response_model=SharedWishlistPublic,
    responses=problems(404, s404=_GONE),
    summary="A shared list, read-only (no sign-in needed)",
)
async def read_shared(token: Token, wishlists: WishlistsDep) -> SharedWishlistPublic:
    return await shared_view(wishlists, await wishlists.shared(token))


@router.post(
    "/{token}/follow",
    status_code=status.HTTP_201_CREATED,
    response_model=SharedWishlistPublic,
    responses=problems(401, 403, 404, 409, s404=_GONE, s409="The list is yours (`own_wishlist`)"),
    summary="Follow a shared list: hear about its price drops and returns to stock",
)
async def follow_shared(
    token: Token, user_id: UserId, wishlists: WishlistsDep
) -> SharedWishlistPublic:
    """Following again changes nothing; while the link works, the list shows under
    `following` in `GET /api/wishlists`."""
    return await shared_view(wishlists, await wishlists.follow(user_id, token))
