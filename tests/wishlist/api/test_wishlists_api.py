"""The wishlist API against real neighbours: lists and items checked against the
catalog, owner-only writes, limits, share links that stop at once when revoked,
following, and to-cart into the orders service's cart."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.orders.support import Shop
from tests.support.problems import assert_problem, bearer
from tests.wishlist.support import Neighbours

pytestmark = pytest.mark.anyio

Users = Callable[[], tuple[str, uuid.UUID]]


async def _new_list(client: httpx.AsyncClient, token: str, name: str = "Birthday") -> str:
    made = await client.post("/api/wishlists", json={"name": name}, headers=bearer(token))
    assert made.status_code == 201, made.text
    list_id: str = made.json()["id"]
    return list_id


async def _put(
    client: httpx.AsyncClient, token: str, list_id: str, product_id: uuid.UUID
) -> httpx.Response:
    return await client.put(f"/api/wishlists/{list_id}/items/{product_id}", headers=bearer(token))


async def test_a_list_holds_catalog_products_once(
    client: httpx.AsyncClient, shop: Shop, users: Users
) -> None:
    token, _ = users()
    list_id = await _new_list(client, token, "  Kitchen  ")
    kettle, toaster = await shop.product(), await shop.product()
    assert (await _put(client, token, list_id, kettle)).status_code == 200
    again = await _put(client, token, list_id, kettle)
    body: dict[str, Any] = (await _put(client, token, list_id, toaster)).json()
    assert again.status_code == 200
    assert body["name"] == "Kitchen"
    assert [i["product_id"] for i in body["items"]] == [str(kettle), str(toaster)]
    assert body["share_token"] is None and body["followers"] == 0

    removed = await client.delete(f"/api/wishlists/{list_id}/items/{kettle}", headers=bearer(token))
    assert [i["product_id"] for i in removed.json()["items"]] == [str(toaster)]
    gone = await client.delete(f"/api/wishlists/{list_id}/items/{kettle}", headers=bearer(token))
    assert_problem(gone, 404, "item_not_found")

    listed = (await client.get("/api/wishlists", headers=bearer(token))).json()
    assert [w["id"] for w in listed["items"]] == [list_id]
    assert listed["following"] == []
    one = await client.get(f"/api/wishlists/{list_id}", headers=bearer(token))
    assert one.json()["items"][0]["product_id"] == str(toaster)


async def test_an_unknown_product_is_refused_by_name(
    client: httpx.AsyncClient, users: Users
) -> None:
    token, _ = users()
    list_id = await _new_list(client, token)
    missing = uuid.uuid4()
    problem = assert_problem(await _put(client, token, list_id, missing), 404, "product_not_found")
    assert str(missing) in problem["detail"]
    assert problem["product_id"] == str(missing)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "#/name"),
        ({"name": ""}, "#/name"),
        ({"name": "x" * 101}, "#/name"),
        ({"name": "two\nlines"}, "#/name"),
        ({"name": "ok", "owner": "me"}, "#/owner"),
    ],
    ids=["missing", "empty", "too-long", "two-lines", "unknown-member"],
)
async def test_a_bad_list_body_is_a_problem_naming_the_member(
    client: httpx.AsyncClient, users: Users, body: dict[str, Any], pointer: str
) -> None:
    token, _ = users()
    problem = assert_problem(
        await client.post("/api/wishlists", json=body, headers=bearer(token)), 422
    )
    assert [e["pointer"] for e in problem["errors"]] == [pointer]


async def test_limits_on_lists_and_items(
    client: httpx.AsyncClient, shop: Shop, users: Users
) -> None:
    token, _ = users()
    lists = [await _new_list(client, token, f"List {n}") for n in range(3)]
    problem = assert_problem(
        await client.post("/api/wishlists", json={"name": "one more"}, headers=bearer(token)),
        422,
        "too_many_wishlists",
    )
    assert problem["limit"] == 3
    for _ in range(4):
        assert (await _put(client, token, lists[0], await shop.product())).status_code == 200
    full = await _put(client, token, lists[0], await shop.product())
    assert assert_problem(full, 422, "wishlist_full")["limit"] == 4


async def test_only_the_owner_writes(client: httpx.AsyncClient, shop: Shop, users: Users) -> None:
    owner, _ = users()
    other, _ = users()
    list_id = await _new_list(client, owner)
    product = await shop.product()
    assert_problem(await _put(client, other, list_id, product), 403, "not_the_owner")
    assert_problem(
        await client.post(f"/api/wishlists/{list_id}/share", headers=bearer(other)),
        403,
        "not_the_owner",
    )
    assert_problem(
        await client.get(f"/api/wishlists/{list_id}", headers=bearer(other)), 403, "not_the_owner"
    )
    assert_problem(
        await client.get(f"/api/wishlists/{uuid.uuid4()}", headers=bearer(owner)),
        404,
        "wishlist_not_found",
    )
    assert_problem(await client.get("/api/wishlists"), 401)


async def test_a_revoked_link_stops_working_at_once(
    client: httpx.AsyncClient, shop: Shop, users: Users
) -> None:
    owner, _ = users()
    list_id = await _new_list(client, owner, "Wedding")
    product = await shop.product()
    await _put(client, owner, list_id, product)
    shared = await client.post(f"/api/wishlists/{list_id}/share", headers=bearer(owner))
    assert shared.status_code == 201, shared.text
    link = shared.json()
    assert len(link["token"]) >= 32
    assert link["path"] == f"/api/wishlists/shared/{link['token']}"

    seen = await client.get(link["path"])  # no sign-in needed
    assert seen.status_code == 200, seen.text
    assert seen.json()["name"] == "Wedding"
    assert [i["product_id"] for i in seen.json()["items"]] == [str(product)]
    assert "share_token" not in seen.json() and "owner_id" not in seen.json()
    mine = (await client.get(f"/api/wishlists/{list_id}", headers=bearer(owner))).json()
    assert mine["share_token"] == link["token"]

    revoked = await client.delete(f"/api/wishlists/{list_id}/share", headers=bearer(owner))
    assert revoked.status_code == 204
    # The very next read, from anyone, finds no list.
    assert_problem(await client.get(link["path"]), 404, "share_link_not_found")
    assert_problem(
        await client.get(link["path"], headers=bearer(owner)), 404, "share_link_not_found"
    )
    # Revoking again changes nothing; a new link works and the old one stays dead.
    again = await client.delete(f"/api/wishlists/{list_id}/share", headers=bearer(owner))
    assert again.status_code == 204
    fresh = (await client.post(f"/api/wishlists/{list_id}/share", headers=bearer(owner))).json()
    assert fresh["token"] != link["token"]
    assert (await client.get(fresh["path"])).status_code == 200
    assert_problem(await client.get(link["path"]), 404, "share_link_not_found")
    # Sharing anew replaces the link: the one before stops.
    newer = (await client.post(f"/api/wishlists/{list_id}/share", headers=bearer(owner))).json()
    assert_problem(await client.get(fresh["path"]), 404, "share_link_not_found")
    assert (await client.get(newer["path"])).status_code == 200


@pytest.mark.parametrize("token", ["short", "x" * 65, "has spaces in it!!"])
async def test_a_malformed_token_is_a_422(client: httpx.AsyncClient, token: str) -> None:
    assert_problem(await client.get(f"/api/wishlists/shared/{token}"), 422)


async def test_followers_see_the_list_while_it_is_shared(
    client: httpx.AsyncClient, shop: Shop, users: Users
) -> None:
    owner, _ = users()
    follower, _ = users()
    list_id = await _new_list(client, owner, "Shared")
    await _put(client, owner, list_id, await shop.product())
    link = (await client.post(f"/api/wishlists/{list_id}/share", headers=bearer(owner))).json()

    assert_problem(await client.post(f"{link['path']}/follow"), 401)
    assert_problem(
        await client.post(f"{link['path']}/follow", headers=bearer(owner)), 409, "own_wishlist"
    )
    for _ in range(2):  # following again changes nothing
        followed = await client.post(f"{link['path']}/follow", headers=bearer(follower))
        assert followed.status_code == 201, followed.text
    listed = (await client.get("/api/wishlists", headers=bearer(follower))).json()
    assert listed["items"] == []
    assert [w["id"] for w in listed["following"]] == [list_id]
    owned = (await client.get(f"/api/wishlists/{list_id}", headers=bearer(owner))).json()
    assert owned["followers"] == 1
    # The follower reads; it does not write.
    assert_problem(
        await _put(client, follower, list_id, await shop.product()), 403, "not_the_owner"
    )

    await client.delete(f"/api/wishlists/{list_id}/share", headers=bearer(owner))
    listed = (await client.get("/api/wishlists", headers=bearer(follower))).json()
    assert listed["following"] == []
    assert_problem(
        await client.post(f"{link['path']}/follow", headers=bearer(follower)),
        404,
        "share_link_not_found",
    )
    # A new link starts with no followers: the revoke dropped them.
    await client.post(f"/api/wishlists/{list_id}/share", headers=bearer(owner))
    owned = (await client.get(f"/api/wishlists/{list_id}", headers=bearer(owner))).json()
    assert owned["followers"] == 0
    listed = (await client.get("/api/wishlists", headers=bearer(follower))).json()
    assert listed["following"] == []


async def test_to_cart_fills_the_users_own_cart(
    client: httpx.AsyncClient, shop: Shop, users: Users, neighbours: Neighbours
) -> None:
    owner, _ = users()
    follower, _ = users()
    stranger, _ = users()
    list_id = await _new_list(client, owner)
    product, absent = await shop.product(price="12.50"), await shop.product()
    await _put(client, owner, list_id, product)

    moved = await client.post(
        f"/api/wishlists/{list_id}/items/{product}/to-cart",
        json={"quantity": 2},
        headers=bearer(owner),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["quantity"] == 2
    async with httpx.AsyncClient(base_url=neighbours.orders_url, timeout=30) as orders:
        cart = (await orders.get("/api/cart", headers=bearer(owner))).json()
    assert [(i["product_id"], i["quantity"]) for i in cart["items"]] == [(str(product), 2)]
    assert moved.json()["cart"]["items"] == cart["items"]

    # No body: one unit. A follower of the shared list fills its own cart.
    link = (await client.post(f"/api/wishlists/{list_id}/share", headers=bearer(owner))).json()
    await client.post(f"{link['path']}/follow", headers=bearer(follower))
    followed = await client.post(
        f"/api/wishlists/{list_id}/items/{product}/to-cart", headers=bearer(follower)
    )
    assert followed.status_code == 200, followed.text
    assert [(i["product_id"], i["quantity"]) for i in followed.json()["cart"]["items"]] == [
        (str(product), 1)
    ]

    assert_problem(
        await client.post(
            f"/api/wishlists/{list_id}/items/{product}/to-cart", headers=bearer(stranger)
        ),
        404,
        "wishlist_not_found",
    )
    assert_problem(
        await client.post(
            f"/api/wishlists/{list_id}/items/{absent}/to-cart", headers=bearer(owner)
        ),
        404,
        "item_not_found",
    )
    bad = await client.post(
        f"/api/wishlists/{list_id}/items/{product}/to-cart",
        json={"quantity": 0},
        headers=bearer(owner),
    )
    assert assert_problem(bad, 422)["errors"][0]["pointer"] == "#/quantity"
