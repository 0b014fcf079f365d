"""Reorder suggestions: each product's sales history, its forecast and its plan
(services.forecast, services.replenishment), with the product's own reorder settings
over the service's defaults."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from productstore_inventory.app.data.sales import SalesStore
from productstore_inventory.app.data.stock import ProductRow, StockStore
from productstore_inventory.app.services.forecast import forecast
from productstore_inventory.app.services.replenishment import Plan, Policy, plan
from productstore_inventory.app.services.stock import StockLevels

# Products read at once when every product is planned.
_CONCURRENCY: Final = 16


@dataclass(frozen=True)
class ReorderDefaults:
    lead_time_days: float
    review_period_days: float
    service_level: float
    history_days: int
    alpha: float
    beta: float


@dataclass(frozen=True)
class ProductPlan:
    product_id: uuid.UUID
    plan: Plan


def policy_of(product: ProductRow, defaults: ReorderDefaults) -> Policy:
    overridden = frozenset(
        name
        for name in ("lead_time_days", "review_period_days", "service_level")
        if getattr(product, name) is not None
    )
    return Policy(
        lead_time_days=(
            product.lead_time_days
            if product.lead_time_days is not None
            else defaults.lead_time_days
        ),
        review_period_days=(
            product.review_period_days
            if product.review_period_days is not None
            else defaults.review_period_days
        ),
        service_level=(
            product.service_level if product.service_level is not None else defaults.service_level
        ),
        overridden=overridden,
    )


class ReorderPlanner:
    def __init__(
        self,
        store: StockStore,
        sales: SalesStore,
        levels: StockLevels,
        defaults: ReorderDefaults,
        *,
        clock: type[datetime] = datetime,
    ) -> None:
        self.store = store
        self.sales = sales
        self.levels = levels
        self.defaults = defaults
        self.clock = clock

    def today(self) -> date:
        return self.clock.now(UTC).date()

    async def history(self, product_id: uuid.UUID, today: date) -> list[int]:
        """Units sold a day over the window, oldest first, ending yesterday (today is
        not over: its partial count would read as a drop in demand)."""
        first = today - timedelta(days=self.defaults.history_days)
        last = today - timedelta(days=1)
        sold = await self.sales.daily(product_id, first, last)
        return [sold.get(first + timedelta(days=n), 0) for n in range((last - first).days + 1)]

    async def plan_product(self, product_id: uuid.UUID, *, horizon_days: int = 0) -> Plan | None:
        """The product's plan; None when it has no stock record."""
        product = await self.store.product(product_id)
        view = await self.levels.view(product_id)
        if product is None or view is None:
            return None
        today = self.today()
        fitted = forecast(
            await self.history(product_id, today),
            alpha=self.defaults.alpha,
            beta=self.defaults.beta,
        )
        return plan(
            fitted,
            policy_of(product, self.defaults),
            view.available,
            today=today,
            horizon_days=horizon_days,
        )

    async def suggestions(self, *, limit: int, horizon_days: int = 0) -> list[ProductPlan]:
        """Every product that needs an order now (or within the horizon), soonest order
        date first, then fewest days of stock left."""
        gate = asyncio.Semaphore(_CONCURRENCY)

        async def one(product_id: uuid.UUID) -> ProductPlan | None:
            async with gate:
                found = await self.plan_product(product_id, horizon_days=horizon_days)
            if found is None or found.quantity is None:
                return None
            return ProductPlan(product_id, found)

        planned = await asyncio.gather(*(one(p) for p in await self.store.product_ids()))
        due = [item for item in planned if item is not None]
        due.sort(
            key=lambda item: (
                item.plan.order_by or date.max,
                item.plan.available / item.plan.forecast.daily_demand,
                str(item.product_id),
            )
        )
        return due[:limit]
