"""Reorder plans from a forecast, against hand-worked numbers: 2 units a day with a
spread of 1, lead time 4 days, review period 5, service level 95 % (z 1.6449):

    lead-time demand 2 x 4 = 8, safety stock 1.6449 x 1 x sqrt(4) = 3.2897,
    reorder point 11.2897, order-up-to 2 x 9 + 1.6449 x sqrt(9) = 22.9346.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from productstore_inventory.app.services.forecast import Forecast
from productstore_inventory.app.services.replenishment import Policy, plan

TODAY = date(2026, 3, 2)
DEMAND = Forecast("ses", 2.0, 1.0, 30, 30, 60, 1.0)
POLICY = Policy(lead_time_days=4, review_period_days=5, service_level=0.95)
Z95 = 1.6448536269514722


def test_the_numbers_of_a_plan() -> None:
    found = plan(DEMAND, POLICY, 5, today=TODAY)
    assert found.policy.z == pytest.approx(Z95)
    assert found.lead_time_demand == pytest.approx(8.0)
    assert found.safety_stock == pytest.approx(2 * Z95)
    assert found.reorder_point == pytest.approx(8 + 2 * Z95)
    assert found.order_up_to == pytest.approx(18 + 3 * Z95)
    # 22.9346 - 5 = 17.93, rounded up; out of stock after floor(5 / 2) days.
    assert (found.quantity, found.order_by, found.stockout_expected) == (
        18,
        TODAY,
        TODAY + timedelta(days=2),
    )
    assert set(found.explanation) == {
        "forecast",
        "sigma",
        "lead_time_days",
        "review_period_days",
        "service_level",
        "lead_time_demand",
        "safety_stock",
        "reorder_point",
        "order_up_to",
        "quantity",
    }
    assert "18 = order-up-to 22.935 - 5.000" in found.explanation["quantity"]
    assert "the service default" in found.explanation["lead_time_days"]


@pytest.mark.parametrize(
    ("available", "horizon", "quantity", "order_in_days"),
    [
        (11, 0, 12, 0),  # 11 < 11.29: now, 22.93 - 11 -> 12
        (12, 0, None, None),  # covers the reorder point: nothing
        # Within a day it falls to the reorder point (12 - 11.29 = 0.71 units, 0.36 days):
        # ordered then, 22.93 - 11.29 = 11.65 -> 12.
        (12, 1, 12, 0),
        # (20 - 11.29) / 2 = 4.36 days away, within 7: order on day 4.
        (20, 7, 12, 4),
        (40, 7, None, None),  # 14.36 days away
        (0, 0, 23, 0),  # out of stock: the whole order-up-to level
    ],
)
def test_when_and_how_much(
    available: int, horizon: int, quantity: int | None, order_in_days: int | None
) -> None:
    found = plan(DEMAND, POLICY, available, today=TODAY, horizon_days=horizon)
    assert found.quantity == quantity
    expected = None if order_in_days is None else TODAY + timedelta(days=order_in_days)
    assert found.order_by == expected


def test_no_demand_suggests_nothing_even_when_out_of_stock() -> None:
    none = Forecast("none", 0.0, 0.0, 0, 0, 0, None)
    found = plan(none, POLICY, 0, today=TODAY, horizon_days=30)
    assert (found.quantity, found.order_by, found.stockout_expected) == (None, None, None)
    assert found.reorder_point == 0
    assert found.explanation["quantity"] == "Nothing to order: no demand is forecast."


def test_a_product_setting_is_named_as_such() -> None:
    policy = Policy(4, 5, 0.99, overridden=frozenset({"service_level"}))
    found = plan(DEMAND, policy, 5, today=TODAY)
    assert "this product's setting" in found.explanation["service_level"]
    assert "the service default" in found.explanation["lead_time_days"]
    # z(0.99) = 2.3263: safety stock 2.3263 x 1 x 2.
    assert found.safety_stock == pytest.approx(2 * 2.3263478740408408)


def test_a_zero_review_period_orders_for_the_lead_time_only() -> None:
    found = plan(DEMAND, Policy(4, 0, 0.95), 0, today=TODAY)
    assert found.order_up_to == pytest.approx(found.reorder_point)
