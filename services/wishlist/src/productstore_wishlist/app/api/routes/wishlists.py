"""The signed-in user's wishlists: lists, items, share links, to-cart."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from productstore_common.openapi import problems
from productstore_wishlist.app.api.deps import BearerToken, UserId, WishlistsDep
from productstore_wishlist.app.data.wishlists import WishlistRow
from productstore_wishlist.app.models import (
    ItemPublic,
    SharedWishlistPublic,
    ShareLink,
    ToCart,
    ToCartResult,
    WishlistCreate,
    WishlistPublic,
    WishlistsPublic,
)
from productstore_wishlist.app.services.wishlists import Wishlists

router = APIRouter(prefix="/api/wishlists", tags=["wishlists"])

_NOT_YOURS = "Another user's list (`not_the_owner`)"
_NO_LIST = "No such list (`wishlist_not_found`)"


async def owner_view(wishlists: Wishlists, row: WishlistRow) -> WishlistPublic:
    items, followers = await wishlists.view(row)
    return WishlistPublic(
        id=row.wishlist_id,
        name=row.name,
        items=[ItemPublic(product_id=i.product_id, added_at=i.added_at) for i in items],
        share_token=row.share_token,
        followers=followers,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def shared_view(wishlists: Wishlists, row: WishlistRow) -> SharedWishlistPublic:
    items, _ = await wishlists.view(row)
    return SharedWishlistPublic(
        id=row.wishlist_id,
        name=row.name,
        items=[ItemPublic(product_id=i.product_id, added_at=i.added_at) for i in items],
        updated_at=row.updated_at,
    )


@router.get(
    "",
    response_model=WishlistsPublic,
    responses=problems(401, 403),
    summary="Your wishlists, and the shared lists you follow",
)
async def list_wishlists(user_id: UserId, wishlists: WishlistsDep) -> WishlistsPublic:
    own = [await owner_view(wishlists, row) for row in await wishlists.mine(user_id)]
    followed = [await shared_view(wishlists, row) for row in await wishlists.following(user_id)]
    return WishlistsPublic(items=own, following=followed)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WishlistPublic,
    responses=problems(
        401, 403, 422, s422="Invalid body, or too many lists (`too_many_wishlists`)"
    ),
    summary="Make a new, empty wishlist",
)
async def create_wishlist(
    body: WishlistCreate, user_id: UserId, wishlists: WishlistsDep
) -> WishlistPublic:
    return await owner_view(wishlists, await wishlists.create(user_id, body.name))


@router.get(
    "/{wishlist_id:uuid}",
    response_model=WishlistPublic,
    responses=problems(401, 403, 404, s403=_NOT_YOURS, s404=_NO_LIST),
    summary="One of your wishlists",
)
async def get_wishlist(
    wishlist_id: uuid.UUID, user_id: UserId, wishlists: WishlistsDep
) -> WishlistPublic:
    return await owner_view(wishlists, await wishlists.owned(user_id, wishlist_id))


@router.put(
    "/{wishlist_id:uuid}/items/{product_id:uuid}",
    response_model=WishlistPublic,
    responses=problems(
        401,
        403,
        404,
        422,
        503,
        s403=_NOT_YOURS,
        s404="No such list, or no such product in the catalog (`product_not_found`)",
        s422="The list is full (`wishlist_full`)",
        s503="The catalog did not answer; retry after `Retry-After` seconds",
    ),
    summary="Add a catalog product to your list (adding it again changes nothing)",
)
async def put_item(
    wishlist_id: uuid.UUID, product_id: uuid.UUID, user_id: UserId, wishlists: WishlistsDep
) -> WishlistPublic:
    await wishlists.put_item(user_id, wishlist_id, product_id)
    return await owner_view(wishlists, await wishlists.owned(user_id, wishlist_id))


@router.delete(
    "/{wishlist_id:uuid}/items/{product_id:uuid}",
    response_model=WishlistPublic,
    responses=problems(
        401, 403, 404, s403=_NOT_YOURS, s404="No such list, or the product is not on it"
    ),
    summary="Remove a product from your list",
)
async def delete_item(
    wishlist_id: uuid.UUID, product_id: uuid.UUID, user_id: UserId, wishlists: WishlistsDep
) -> WishlistPublic:
    await wishlists.remove_item(user_id, wishlist_id, product_id)
    return await owner_view(wishlists, await wishlists.owned(user_id, wishlist_id))


@router.post(
    "/{wishlist_id:uuid}/share",
    status_code=status.HTTP_201_CREATED,
    response_model=ShareLink,
    responses=problems(401, 403, 404, s403=_NOT_YOURS, s404=_NO_LIST),
    summary="Make a read-only link to your list (a new one replaces the old)",
)
async def share_wishlist(
    wishlist_id: uuid.UUID, user_id: UserId, wishlists: WishlistsDep
) -> ShareLink:
    token = await wishlists.share(user_id, wishlist_id)
    return ShareLink(token=token, path=f"/api/wishlists/shared/{token}")


@router.delete(
    "/{wishlist_id:uuid}/share",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(401, 403, 404, s403=_NOT_YOURS, s404=_NO_LIST),
    summary="Revoke the list's link: it stops working at once, and its followers are dropped",
)
async def unshare_wishlist(
    wishlist_id: uuid.UUID, user_id: UserId, wishlists: WishlistsDep
) -> Response:
    await wishlists.unshare(user_id, wishlist_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{wishlist_id:uuid}/items/{product_id:uuid}/to-cart",
    response_model=ToCartResult,
    responses=problems(
        401,
        403,
        404,
        409,
        422,
        502,
        503,
        s404="No such list of yours (or that you follow), or the product is not on it",
        s409="The cart refused it (`cart_refused`, its detail passed on)",
        s422="The cart refused it (`cart_refused`, its detail passed on)",
        s502="The orders service answered something unexpected",
        s503="The orders service did not answer; retry after `Retry-After` seconds",
    ),
    summary="Put an item of a list you own or follow in your cart",
)
async def to_cart(
    *,
    wishlist_id: uuid.UUID,
    product_id: uuid.UUID,
    user_id: UserId,
    token: BearerToken,
    wishlists: WishlistsDep,
    body: ToCart | None = None,
) -> ToCartResult:
    """Calls the orders service's `PUT /api/cart/items/{product_id}` with your own token,
    so the cart is yours and its rules (stock, limits) apply."""
    quantity = (body or ToCart()).quantity
    answer = await wishlists.to_cart(user_id, token, wishlist_id, product_id, quantity)
    return ToCartResult(product_id=product_id, quantity=quantity, cart=answer.body)
