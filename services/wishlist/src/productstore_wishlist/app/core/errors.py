"""The wishlist's problems (RFC 9457), each with a stable `reason` for clients."""

from __future__ import annotations

import uuid

from productstore_common.errors import Problem, problem


def wishlist_not_found(wishlist_id: uuid.UUID) -> Problem:
    return problem(404, "wishlist_not_found", f"There is no wishlist {wishlist_id} of yours.")


def not_the_owner(wishlist_id: uuid.UUID) -> Problem:
    return problem(
        403,
        "not_the_owner",
        f"Only the owner may change wishlist {wishlist_id}; a shared list is read-only.",
    )


def product_not_found(product_id: uuid.UUID) -> Problem:
    return problem(
        404,
        "product_not_found",
        f"There is no product {product_id} in the catalog; it may have been deleted.",
        product_id=str(product_id),
    )


def item_not_found(wishlist_id: uuid.UUID, product_id: uuid.UUID) -> Problem:
    return problem(404, "item_not_found", f"Product {product_id} is not on wishlist {wishlist_id}.")


def too_many_wishlists(limit: int) -> Problem:
    return problem(
        422,
        "too_many_wishlists",
        f"A user keeps at most {limit} wishlists; delete one to make another.",
        limit=limit,
    )


def wishlist_full(wishlist_id: uuid.UUID, limit: int) -> Problem:
    return problem(
        422,
        "wishlist_full",
        f"Wishlist {wishlist_id} holds {limit} products, the most a list may; remove one "
        "or start another list.",
        limit=limit,
    )


def share_link_not_found() -> Problem:
    return problem(
        404,
        "share_link_not_found",
        "This share link does not exist or was revoked by the list's owner.",
    )


def own_wishlist(wishlist_id: uuid.UUID) -> Problem:
    return problem(
        409, "own_wishlist", f"Wishlist {wishlist_id} is yours: you are told about it already."
    )


def user_token_required() -> Problem:
    return problem(
        403, "user_token_required", "Wishlists belong to signed-in users, not to services."
    )


def callee_unavailable(callee: str) -> Problem:
    return problem(
        503,
        "dependency_unavailable",
        f"The {callee} service is unavailable, so this request could not be completed; "
        "retry in 5 s.",
        headers={"Retry-After": "5"},
        dependency=callee,
    )


def cart_refused(product_id: uuid.UUID, status: int, detail: str) -> Problem:
    """The orders service refused the cart write (its status and words passed on)."""
    return problem(
        status if status in (404, 409, 422) else 502,
        "cart_refused",
        f"The cart did not take product {product_id}: {detail}",
        product_id=str(product_id),
    )
