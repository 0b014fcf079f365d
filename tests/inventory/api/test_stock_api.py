"""The stock API through the in-process app: admins set, everyone reads, problems explain."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.catalog.support import Tokens
from tests.inventory.support import assert_problem, bearer, reservations_of

pytestmark = pytest.mark.anyio


async def _put(
    client: httpx.AsyncClient, token: str, product: uuid.UUID, body: dict[str, Any]
) -> httpx.Response:
    return await client.put(f"/api/inventory/{product}", json=body, headers=bearer(token))


async def test_the_default_location_is_set_and_read(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    product = uuid.uuid4()
    written = await _put(client, tokens.admin, product, {"on_hand": 40, "low_stock_threshold": 5})
    assert written.status_code == 200, written.text
    expected = {
        "product_id": str(product),
        "on_hand": 40,
        "reserved": 0,
        "available": 40,
        "low_stock_threshold": 5,
        "low_stock": False,
        "locations": {"default": {"on_hand": 40, "reserved": 0, "available": 40}},
        "reorder": {"lead_time_days": None, "review_period_days": None, "service_level": None},
    }
    assert written.json() == expected
    # Reads need no token.
    read = await client.get(f"/api/inventory/{product}")
    assert read.status_code == 200
    assert read.json() == expected


async def test_locations_are_set_by_name_and_others_keep_theirs(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    product = uuid.uuid4()
    body = {"locations": {"moscow": {"on_hand": 30}, "kazan": {"on_hand": 10}}}
    assert (await _put(client, tokens.admin, product, body)).status_code == 200
    changed = await _put(client, tokens.admin, product, {"locations": {"kazan": {"on_hand": 4}}})
    assert changed.status_code == 200, changed.text
    stock = changed.json()
    assert stock["locations"] == {
        "kazan": {"on_hand": 4, "reserved": 0, "available": 4},
        "moscow": {"on_hand": 30, "reserved": 0, "available": 30},
    }
    assert (stock["on_hand"], stock["available"], stock["low_stock_threshold"]) == (34, 34, 0)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "#"),
        ({"on_hand": 1, "locations": {"a": {"on_hand": 1}}}, "#"),
        ({"on_hand": -1}, "#/on_hand"),
        ({"on_hand": 1_000_000_001}, "#/on_hand"),
        ({"on_hand": "many"}, "#/on_hand"),
        # JSON true is no count of units (schemathesis found it taken as 1, false as 0).
        ({"on_hand": False}, "#/on_hand"),
        ({"on_hand": 1, "low_stock_threshold": True}, "#/low_stock_threshold"),
        ({"locations": {"a": {"on_hand": True}}}, "#/locations/a/on_hand"),
        ({"on_hand": 1, "low_stock_threshold": -2}, "#/low_stock_threshold"),
        ({"locations": {}}, "#/locations"),
        ({"locations": {"Main Hall": {"on_hand": 1}}}, "#/locations/Main Hall"),
        ({"locations": {"a": {"on_hand": 1, "extra": 2}}}, "#/locations/a/extra"),
        ({"on_hand": 1, "colour": "red"}, "#/colour"),
        ({"reorder": {"service_level": 0.3}}, "#/reorder/service_level"),
        ({"reorder": {"lead_time_days": 0}}, "#/reorder/lead_time_days"),
        ({"reorder": {"lead_days": 3}}, "#/reorder/lead_days"),
        ({"reorder": {"review_period_days": True}}, "#/reorder/review_period_days"),
    ],
    ids=[
        "neither-form",
        "both-forms",
        "negative",
        "too-many",
        "not-a-number",
        "false-units",
        "true-threshold",
        "true-location-units",
        "negative-threshold",
        "no-locations",
        "bad-location-name",
        "unknown-location-member",
        "unknown-member",
        "service-level-too-low",
        "no-lead-time",
        "unknown-reorder-member",
        "boolean-days",
    ],
)
async def test_bad_bodies_are_422_naming_the_member(
    client: httpx.AsyncClient, tokens: Tokens, body: dict[str, Any], pointer: str
) -> None:
    response = await _put(client, tokens.admin, uuid.uuid4(), body)
    problem = assert_problem(response, 422)
    pointers = [error["pointer"] for error in problem["errors"]]
    assert any(found.startswith(pointer) for found in pointers), pointers


@pytest.mark.parametrize(
    ("method", "path", "who", "status"),
    [
        ("PUT", "/api/inventory/{id}", None, 401),
        ("PUT", "/api/inventory/{id}", "user", 403),
        ("GET", "/api/inventory/low-stock", None, 401),
        ("GET", "/api/inventory/low-stock", "user", 403),
        ("GET", "/api/inventory/reorder-suggestions", None, 401),
        ("GET", "/api/inventory/reorder-suggestions", "user", 403),
        ("GET", "/api/inventory/stream", None, 401),
        ("GET", "/api/inventory/stream", "user", 403),
    ],
)
async def test_writes_and_the_admin_reads_are_for_admins(
    *,
    client: httpx.AsyncClient,
    tokens: Tokens,
    method: str,
    path: str,
    who: str | None,
    status: int,
) -> None:
    headers = bearer(tokens.user) if who == "user" else {}
    response = await client.request(
        method, path.format(id=uuid.uuid4()), json={"on_hand": 1}, headers=headers
    )
    assert_problem(response, status)


async def test_a_product_without_stock_is_404(client: httpx.AsyncClient) -> None:
    product = uuid.uuid4()
    problem = assert_problem(
        await client.get(f"/api/inventory/{product}"), 404, "inventory_not_found"
    )
    assert f"PUT /api/inventory/{product}" in problem["detail"]


async def test_on_hand_below_what_is_reserved_is_refused(
    client: httpx.AsyncClient, tokens: Tokens, app: FastAPI
) -> None:
    product = uuid.uuid4()
    assert (await _put(client, tokens.admin, product, {"on_hand": 5})).status_code == 200
    result = await reservations_of(app).reserve(uuid.uuid4(), [(product, 3)])
    assert result.outcome == "reserved"

    refused = await _put(client, tokens.admin, product, {"on_hand": 2})
    problem = assert_problem(refused, 409, "below_reserved")
    assert (problem["location"], problem["reserved"], problem["requested_on_hand"]) == (
        "default",
        3,
        2,
    )
    assert "at least 3" in problem["detail"]
    # Nothing was written, and exactly what is reserved is allowed.
    assert (await client.get(f"/api/inventory/{product}")).json()["on_hand"] == 5
    allowed = await _put(client, tokens.admin, product, {"on_hand": 3})
    assert allowed.status_code == 200
    assert (allowed.json()["reserved"], allowed.json()["available"]) == (3, 0)


async def test_the_low_stock_list_has_products_at_or_below_their_threshold(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    low, fine = uuid.uuid4(), uuid.uuid4()
    await _put(client, tokens.admin, low, {"on_hand": 3, "low_stock_threshold": 3})
    await _put(client, tokens.admin, fine, {"on_hand": 30, "low_stock_threshold": 3})
    listed = await client.get("/api/inventory/low-stock", headers=bearer(tokens.admin))
    assert listed.status_code == 200
    items = {item["product_id"]: item for item in listed.json()["items"]}
    assert str(fine) not in items
    assert items[str(low)]["available"] == 3
    assert items[str(low)]["low_stock_threshold"] == 3
    # Restocked above the threshold: off the list.
    await _put(client, tokens.admin, low, {"on_hand": 10})
    listed = await client.get("/api/inventory/low-stock", headers=bearer(tokens.admin))
    assert str(low) not in {item["product_id"] for item in listed.json()["items"]}
