"""Reorder planning from a forecast: reorder point, order-up-to level, quantity and date.
Pure functions; the numbers and their explanation come out together.

    lead-time demand   = d x L
    safety stock       = z x sigma x sqrt(L)
    reorder point      = lead-time demand + safety stock
    order-up-to level  = d x (L + R) + z x sigma x sqrt(L + R)

d: forecast units a day, sigma: the spread of a day's demand, L: lead time in days,
R: review period in days (the order must last until the next review), z: the
standard normal quantile of the service level (the chance of not running out
during a lead time). A product is suggested when its available stock is below the
reorder point, or will be within `horizon_days` at the forecast rate; the quantity
brings the stock expected on the order date up to the order-up-to level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

from productstore_inventory.app.services.forecast import INTERMITTENT_ADI, Forecast


@dataclass(frozen=True)
class Policy:
    lead_time_days: float
    review_period_days: float
    service_level: float
    # Which of the three come from the product (the admin's PUT), not the settings.
    overridden: frozenset[str] = frozenset()

    @property
    def z(self) -> float:
        return NormalDist().inv_cdf(self.service_level)


@dataclass(frozen=True)
class Plan:
    forecast: Forecast
    policy: Policy
    available: int
    lead_time_demand: float
    safety_stock: float
    reorder_point: float
    order_up_to: float
    # None: the stock covers the reorder point over the horizon (nothing to order).
    quantity: int | None
    order_by: date | None
    stockout_expected: date | None
    explanation: dict[str, str]


def plan(
    forecast: Forecast, policy: Policy, available: int, *, today: date, horizon_days: int = 0
) -> Plan:
    d, sigma, z = forecast.daily_demand, forecast.sigma, policy.z
    lead, review = policy.lead_time_days, policy.review_period_days
    lead_time_demand = d * lead
    safety_stock = z * sigma * math.sqrt(lead)
    reorder_point = lead_time_demand + safety_stock
    order_up_to = d * (lead + review) + z * sigma * math.sqrt(lead + review)

    quantity: int | None = None
    order_by: date | None = None
    stockout: date | None = None
    if d > 0:
        stockout = today + timedelta(days=math.floor(max(available, 0) / d))
        days_left = max(available - reorder_point, 0.0) / d
        if available < reorder_point + d * horizon_days:
            at_order = available - d * days_left
            quantity = max(math.ceil(order_up_to - at_order), 1)
            order_by = today + timedelta(days=math.floor(days_left))

    explanation = _explain(
        forecast,
        policy,
        available=available,
        lead_time_demand=lead_time_demand,
        safety_stock=safety_stock,
        reorder_point=reorder_point,
        order_up_to=order_up_to,
        quantity=quantity,
        order_by=order_by,
        today=today,
    )
    return Plan(
        forecast,
        policy,
        available,
        lead_time_demand,
        safety_stock,
        reorder_point,
        order_up_to,
        quantity,
        order_by,
        stockout,
        explanation,
    )


def _source(policy: Policy, name: str) -> str:
    return "this product's setting" if name in policy.overridden else "the service default"


def _explain_forecast(f: Forecast) -> str:
    if f.method == "none":
        return "No sale in the history window: no demand is forecast."
    seen = (
        f"{f.units_sold} units sold on {f.sale_days} of the {f.history_days} days since the "
        f"first sale in the window (a sale every {f.adi:.2f} days on average)"
    )
    if f.method == "ses":
        return (
            f"{f.daily_demand:.3f} units/day by simple exponential smoothing of the daily "
            f"quantity: {seen}; demand is regular (interval {f.adi:.2f} <= {INTERMITTENT_ADI})."
        )
    return (
        f"{f.daily_demand:.3f} units/day by TSB = chance of a sale on a day "
        f"{f.probability:.3f} x size of a sale {f.size:.3f}: {seen}; demand is intermittent "
        f"(interval {f.adi:.2f} > {INTERMITTENT_ADI})."
    )


def _explain(
    f: Forecast,
    policy: Policy,
    *,
    available: int,
    lead_time_demand: float,
    safety_stock: float,
    reorder_point: float,
    order_up_to: float,
    quantity: int | None,
    order_by: date | None,
    today: date,
) -> dict[str, str]:
    lead, review, z = policy.lead_time_days, policy.review_period_days, policy.z
    d = f.daily_demand
    why = {
        "forecast": _explain_forecast(f),
        "sigma": (
            f"{f.sigma:.3f} units/day: root mean square of the forecast's one-day-ahead "
            "errors over the history, the spread the safety stock covers."
        ),
        "lead_time_days": (
            f"{lead:g} days from order to arrival ({_source(policy, 'lead_time_days')})."
        ),
        "review_period_days": (
            f"{review:g} days until stock is reviewed again, so an order covers them too "
            f"({_source(policy, 'review_period_days')})."
        ),
        "service_level": (
            f"{policy.service_level:g}: chance of not running out during a lead time "
            f"({_source(policy, 'service_level')}); z = {z:.3f} standard deviations."
        ),
        "lead_time_demand": f"{lead_time_demand:.3f} = {d:.3f} units/day x {lead:g} days.",
        "safety_stock": (
            f"{safety_stock:.3f} = z {z:.3f} x sigma {f.sigma:.3f} x sqrt({lead:g} days)."
        ),
        "reorder_point": (
            f"{reorder_point:.3f} = lead-time demand {lead_time_demand:.3f} + safety stock "
            f"{safety_stock:.3f}: order when available stock falls below it."
        ),
        "order_up_to": (
            f"{order_up_to:.3f} = {d:.3f} x ({lead:g} + {review:g}) days + z {z:.3f} x sigma "
            f"{f.sigma:.3f} x sqrt({lead + review:g}): what an order should bring stock up to."
        ),
    }
    if quantity is None or order_by is None:
        why["quantity"] = (
            f"Nothing to order: {available} available covers the reorder point {reorder_point:.3f}."
            if d > 0
            else "Nothing to order: no demand is forecast."
        )
    else:
        at_order = available - d * max(available - reorder_point, 0.0) / d
        when = (
            "now: available is below the reorder point"
            if order_by <= today
            else f"by {order_by.isoformat()}, when {available} available falls to the reorder "
            f"point at {d:.3f} units/day"
        )
        why["quantity"] = (
            f"{quantity} = order-up-to {order_up_to:.3f} - {at_order:.3f} available at the "
            f"order, rounded up; order {when}."
        )
    return why
