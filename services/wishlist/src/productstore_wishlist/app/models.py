"""Request and response bodies of the wishlist API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from productstore_common.text import SINGLE_LINE

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    SINGLE_LINE,
    Field(description="1 to 100 characters, one line"),
]


class WishlistCreate(BaseModel):
    """A new, empty wishlist of the signed-in user."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Birthday"}]}
    )

    name: Name


class ItemPublic(BaseModel):
    product_id: uuid.UUID
    added_at: datetime


class WishlistPublic(BaseModel):
    """One of the signed-in user's lists, as its owner sees it."""

    id: uuid.UUID
    name: str
    items: list[ItemPublic]
    share_token: str | None = Field(
        description="The read-only link's token while the list is shared, else null"
    )
    followers: int = Field(description="Users following the list through its link")
    created_at: datetime
    updated_at: datetime


class SharedWishlistPublic(BaseModel):
    """A shared list as anyone with its link sees it (read-only, no owner details)."""

    id: uuid.UUID
    name: str
    items: list[ItemPublic]
    updated_at: datetime


class WishlistsPublic(BaseModel):
    items: list[WishlistPublic] = Field(description="The user's own lists")
    following: list[SharedWishlistPublic] = Field(
        description="Shared lists the user follows (while their links still work)"
    )


class ShareLink(BaseModel):
    token: str = Field(description="Unguessable (192 random bits); anyone holding it can read")
    path: str = Field(description="Where the list is read: GET this path")


class ToCart(BaseModel):
    """How many units the cart should hold (the orders service's cart rules apply)."""

    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(default=1, ge=1, le=1000, strict=True)


class ToCartResult(BaseModel):
    product_id: uuid.UUID
    quantity: int
    cart: dict[str, Any] = Field(description="The cart as the orders service answered it")
