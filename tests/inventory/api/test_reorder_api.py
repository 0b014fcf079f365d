"""Reorder suggestions through the API: histories written where committed sales go
(`daily_sales`), numbers checked against hand-worked ones, per-product settings from
the PUT, and the problems of bad parameters. The history from real order events is
tests/inventory/services/test_sales.py."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.catalog.support import Tokens
from tests.inventory.support import assert_problem, bearer, planner_of

pytestmark = pytest.mark.anyio

PATH = "/api/inventory/reorder-suggestions"
Z95 = 1.6448536269514722


async def _history(app: FastAPI, product: uuid.UUID, daily: list[int]) -> None:
    """`daily` as units sold on the days ending yesterday, one order a day."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    sales = planner_of(app).sales
    for back, sold in enumerate(reversed(daily)):
        if sold:
            await sales.record(uuid.uuid4(), yesterday - timedelta(days=back), {product: sold})


async def _stock(
    client: httpx.AsyncClient, tokens: Tokens, product: uuid.UUID, body: dict[str, Any]
) -> None:
    response = await client.put(
        f"/api/inventory/{product}", json=body, headers=bearer(tokens.admin)
    )
    assert response.status_code == 200, response.text


async def _suggestions(client: httpx.AsyncClient, tokens: Tokens, **params: Any) -> dict[str, Any]:
    response = await client.get(PATH, params=params, headers=bearer(tokens.admin))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_regular_demand_with_the_products_own_settings(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    product = uuid.uuid4()
    await _stock(client, tokens, product, {"on_hand": 10})
    reorder = {"lead_time_days": 4, "review_period_days": 5, "service_level": 0.95}
    await _stock(client, tokens, product, {"reorder": reorder})
    await _history(app, product, [4, 6, 5, 5])

    page = await _suggestions(client, tokens, product_id=str(product))
    assert page["as_of"] == datetime.now(UTC).date().isoformat()
    [item] = page["items"]
    # SES from the mean 5: level 5.0256, RMS error sqrt(0.610656) = 0.78144
    # (tests/inventory/services/test_forecast.py works these out).
    d, sigma = 5.0256, 0.610656**0.5
    forecast = item["forecast"]
    assert (forecast["method"], forecast["history_days"], forecast["units_sold"]) == ("ses", 4, 20)
    assert forecast["daily_demand"] == pytest.approx(d, abs=1e-4)
    assert forecast["sigma"] == pytest.approx(sigma, abs=1e-4)
    assert item["policy"] == {
        "lead_time_days": 4.0,
        "review_period_days": 5.0,
        "service_level": 0.95,
        "z": pytest.approx(Z95, abs=1e-4),
        "overridden": ["lead_time_days", "review_period_days", "service_level"],
    }
    # lead-time demand 20.1024, safety stock 1.6449 x 0.78144 x 2 = 2.5707,
    # reorder point 22.6731; order-up-to 45.2304 + 1.6449 x 0.78144 x 3 = 49.0864.
    assert item["lead_time_demand"] == pytest.approx(4 * d, abs=1e-3)
    assert item["safety_stock"] == pytest.approx(Z95 * sigma * 2, abs=1e-3)
    assert item["reorder_point"] == pytest.approx(4 * d + Z95 * sigma * 2, abs=1e-3)
    assert item["order_up_to"] == pytest.approx(9 * d + Z95 * sigma * 3, abs=1e-3)
    # 49.0864 - 10 available = 39.09, rounded up; 10 / 5.0256 -> out in 1 day.
    today = date.fromisoformat(page["as_of"])
    assert (item["quantity"], item["available"], item["order_by"]) == (40, 10, page["as_of"])
    assert item["stockout_expected"] == (today + timedelta(days=1)).isoformat()
    assert "simple exponential smoothing" in item["why"]["forecast"]
    assert "this product's setting" in item["why"]["lead_time_days"]
    assert item["why"]["quantity"].startswith("40 = order-up-to 49.086")

    # A setting sent as null goes back to the default (lead time 7 days).
    await _stock(client, tokens, product, {"reorder": {"lead_time_days": None}})
    read = await client.get(f"/api/inventory/{product}")
    assert read.json()["reorder"] == {
        "lead_time_days": None,
        "review_period_days": 5.0,
        "service_level": 0.95,
    }
    [item] = (await _suggestions(client, tokens, product_id=str(product)))["items"]
    assert item["policy"]["lead_time_days"] == 7.0
    assert item["policy"]["overridden"] == ["review_period_days", "service_level"]


async def test_intermittent_demand_is_tsb(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    product = uuid.uuid4()
    await _stock(client, tokens, product, {"on_hand": 2})
    await _history(app, product, [0, 0, 3, 0, 0, 3, 0, 0])
    [item] = (await _suggestions(client, tokens, product_id=str(product)))["items"]
    forecast = item["forecast"]
    # From the first sale: 3 0 0 3 0 0 -> p 0.317196, size 3 (test_forecast.py).
    assert forecast["method"] == "tsb"
    assert forecast["sale_probability"] == pytest.approx(0.317196, abs=1e-4)
    assert forecast["sale_size"] == pytest.approx(3.0)
    assert forecast["daily_demand"] == pytest.approx(0.951588, abs=1e-4)
    assert forecast["average_demand_interval"] == pytest.approx(3.0)
    assert "intermittent" in item["why"]["forecast"]
    # Defaults: lead time 7, review 7, 95 %.
    assert item["lead_time_demand"] == pytest.approx(7 * 0.951588, abs=1e-3)


async def test_covered_and_unsold_products_get_no_suggestion(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    covered, unsold, due = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await _stock(client, tokens, covered, {"on_hand": 1000})
    await _history(app, covered, [5, 5, 5])
    await _stock(client, tokens, unsold, {"on_hand": 0})
    await _stock(client, tokens, due, {"on_hand": 1})
    await _history(app, due, [5, 5, 5])
    for product in (covered, unsold):
        assert (await _suggestions(client, tokens, product_id=str(product)))["items"] == []
    listed = {item["product_id"] for item in (await _suggestions(client, tokens))["items"]}
    assert str(due) in listed
    assert not {str(covered), str(unsold)} & listed
    # 1000 units last (1000 - 70) / 5 = 186 days past the reorder point.
    later = await _suggestions(client, tokens, product_id=str(covered), horizon_days=200)
    [item] = later["items"]
    assert item["order_by"] > later["as_of"]


async def test_the_list_is_soonest_first_and_limited(
    app: FastAPI, client: httpx.AsyncClient, tokens: Tokens
) -> None:
    soon, later = uuid.uuid4(), uuid.uuid4()
    for product, on_hand in ((soon, 0), (later, 30)):
        await _stock(client, tokens, product, {"on_hand": on_hand})
        await _history(app, product, [5, 5, 5, 5])
    items = (await _suggestions(client, tokens, limit=1000))["items"]
    order = [item["product_id"] for item in items]
    assert order.index(str(soon)) < order.index(str(later))
    keys = [
        (item["order_by"], item["available"] / item["forecast"]["daily_demand"]) for item in items
    ]
    assert keys == sorted(keys)
    assert len((await _suggestions(client, tokens, limit=1))["items"]) == 1


@pytest.mark.parametrize(
    ("params", "status", "where"),
    [
        ({"limit": 0}, 422, "limit"),
        ({"limit": 1001}, 422, "limit"),
        ({"limit": "ten"}, 422, "limit"),
        ({"horizon_days": -1}, 422, "horizon_days"),
        ({"product_id": "not-a-uuid"}, 422, "product_id"),
    ],
)
async def test_bad_parameters_are_problems(
    *, client: httpx.AsyncClient, tokens: Tokens, params: dict[str, Any], status: int, where: str
) -> None:
    response = await client.get(PATH, params=params, headers=bearer(tokens.admin))
    problem = assert_problem(response, status)
    assert where in str(problem["errors"])


async def test_an_unknown_product_is_404(client: httpx.AsyncClient, tokens: Tokens) -> None:
    product = uuid.uuid4()
    response = await client.get(
        PATH, params={"product_id": str(product)}, headers=bearer(tokens.admin)
    )
    problem = assert_problem(response, 404)
    assert problem["reason"] == "inventory_not_found"
    # Settings alone cannot create a stock record either.
    put = await client.put(
        f"/api/inventory/{product}",
        json={"reorder": {"lead_time_days": 3}},
        headers=bearer(tokens.admin),
    )
    assert assert_problem(put, 404)["reason"] == "inventory_not_found"
