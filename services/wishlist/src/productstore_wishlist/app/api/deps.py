"""Typed dependencies of the routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from productstore_common.auth import CurrentUser
from productstore_common.kit import provide
from productstore_wishlist.app.core import errors
from productstore_wishlist.app.services.wishlists import Wishlists

__all__ = ["BearerToken", "CurrentUser", "UserId", "WishlistsDep"]

WishlistsDep = Annotated[Wishlists, Depends(provide(Wishlists))]


async def _user_id(user: CurrentUser) -> uuid.UUID:
    try:
        return uuid.UUID(user.sub)
    except ValueError:
        raise errors.user_token_required() from None


UserId = Annotated[uuid.UUID, Depends(_user_id)]
"""The signed-in user's id (tokens whose subject is no user id get 403)."""


async def _bearer(request: Request, user: CurrentUser) -> str:
    # Verified by CurrentUser: the header is `Bearer <token>`.
    del user
    return request.headers["Authorization"].split(" ", 1)[1].strip()


BearerToken = Annotated[str, Depends(_bearer)]
"""The caller's own access token, passed on to orders for a cart write in its name."""
