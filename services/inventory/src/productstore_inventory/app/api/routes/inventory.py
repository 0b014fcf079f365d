"""Stock: admins set it and list what runs low; everyone reads a product's stock."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from productstore_common.openapi import problems
from productstore_inventory.app.api.deps import AdminUser, LevelsDep, PlannerDep, SettingsDep
from productstore_inventory.app.core import errors
from productstore_inventory.app.models import (
    DemandForecastPublic,
    LocationStock,
    LowStockItem,
    LowStockPage,
    ReorderPolicyPublic,
    ReorderSettings,
    ReorderSuggestion,
    ReorderSuggestionPage,
    StockPublic,
    StockPut,
)
from productstore_inventory.app.services.reorder import ProductPlan
from productstore_inventory.app.services.stock import StockView

router = APIRouter(prefix="/api/inventory", tags=["inventory"])


def _public(view: StockView) -> StockPublic:
    return StockPublic(
        product_id=view.product_id,
        on_hand=view.on_hand,
        reserved=view.reserved,
        available=view.available,
        low_stock_threshold=view.low_stock_threshold,
        low_stock=view.available <= view.low_stock_threshold,
        locations={
            name: LocationStock(on_hand=c.on_hand, reserved=c.reserved, available=c.available)
            for name, c in view.locations.items()
        },
        reorder=ReorderSettings.model_validate(dict(view.reorder)),
    )


def _suggestion(item: ProductPlan) -> ReorderSuggestion:
    plan, f = item.plan, item.plan.forecast
    assert plan.quantity is not None and plan.order_by is not None  # noqa: S101 - suggested
    return ReorderSuggestion(
        product_id=item.product_id,
        quantity=plan.quantity,
        order_by=plan.order_by,
        stockout_expected=plan.stockout_expected,
        available=plan.available,
        forecast=DemandForecastPublic(
            method=f.method,
            daily_demand=round(f.daily_demand, 4),
            sigma=round(f.sigma, 4),
            history_days=f.history_days,
            sale_days=f.sale_days,
            units_sold=f.units_sold,
            average_demand_interval=None if f.adi is None else round(f.adi, 4),
            sale_probability=None if f.probability is None else round(f.probability, 4),
            sale_size=None if f.size is None else round(f.size, 4),
        ),
        policy=ReorderPolicyPublic(
            lead_time_days=plan.policy.lead_time_days,
            review_period_days=plan.policy.review_period_days,
            service_level=plan.policy.service_level,
            z=round(plan.policy.z, 4),
            overridden=sorted(plan.policy.overridden),
        ),
        lead_time_demand=round(plan.lead_time_demand, 4),
        safety_stock=round(plan.safety_stock, 4),
        reorder_point=round(plan.reorder_point, 4),
        order_up_to=round(plan.order_up_to, 4),
        why=plan.explanation,
    )


@router.get(
    "/low-stock",
    response_model=LowStockPage,
    responses=problems(401, 403),
    summary="Products at or below their low-stock threshold (admin)",
)
async def low_stock(
    admin: AdminUser,
    levels: LevelsDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Products at most")] = 100,
) -> LowStockPage:
    """As of each product's last LowStock event, newest threshold crossings included."""
    rows = await levels.low_stock(limit)
    return LowStockPage(
        items=[
            LowStockItem(
                product_id=row.product_id,
                available=row.available,
                low_stock_threshold=row.threshold,
                since=row.since,
            )
            for row in rows
        ]
    )


@router.get(
    "/reorder-suggestions",
    response_model=ReorderSuggestionPage,
    responses=problems(401, 403, 404, s404="product_id has no stock record"),
    summary="What to reorder, how much, by when, and why (admin)",
)
async def reorder_suggestions(
    admin: AdminUser,
    planner: PlannerDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Suggestions at most")] = 100,
    product_id: Annotated[
        uuid.UUID | None, Query(description="Only this product (empty when it needs no order)")
    ] = None,
    horizon_days: Annotated[
        int,
        Query(
            ge=0,
            le=365,
            description="Also suggest products that reach their reorder point within this "
            "many days at the forecast rate (0: only those below it now)",
        ),
    ] = 0,
) -> ReorderSuggestionPage:
    """Products whose available stock is below their reorder point (lead-time demand +
    safety stock), soonest first: the quantity brings stock up to the order-up-to
    level. Demand is forecast from the units paid orders took per day (SES when sales
    are regular, TSB when intermittent); lead time, review period and service level
    come from the product's `reorder` settings or the service's defaults. `why`
    explains every number. Nothing is suggested for a product whose stock covers its
    reorder point or that sold nothing in the window."""
    if product_id is not None:
        found = await planner.plan_product(product_id, horizon_days=horizon_days)
        if found is None:
            raise errors.inventory_not_found(product_id)
        items = [] if found.quantity is None else [ProductPlan(product_id, found)]
    else:
        items = await planner.suggestions(limit=limit, horizon_days=horizon_days)
    return ReorderSuggestionPage(items=[_suggestion(item) for item in items], as_of=planner.today())


@router.get(
    "/{product_id}",
    response_model=StockPublic,
    responses=problems(404, s404="The product has no stock record"),
    summary="A product's stock: on hand, reserved and available, per location and in total",
)
async def get_stock(product_id: uuid.UUID, levels: LevelsDep) -> StockPublic:
    view = await levels.view(product_id)
    if view is None:
        raise errors.inventory_not_found(product_id)
    return _public(view)


@router.put(
    "/{product_id}",
    response_model=StockPublic,
    responses=problems(
        401,
        403,
        404,
        409,
        s404="Only `reorder` was sent and the product has no stock record",
        s409="on_hand would fall below what unpaid orders hold (`below_reserved`)",
    ),
    summary="Set a product's stock (admin)",
)
async def put_stock(
    product_id: uuid.UUID,
    body: StockPut,
    admin: AdminUser,
    levels: LevelsDep,
    settings: SettingsDep,
) -> StockPublic:
    """`on_hand` sets the default location, `locations` the named ones (others keep
    theirs). A location cannot go below what unpaid orders hold there: 409
    `below_reserved`, nothing written. Publishes StockChanged, and LowStock or
    BackInStock when the threshold is crossed. `reorder` sets the product's own
    lead time, review period or service level for its reorder suggestions (null:
    back to the default); sent alone it needs an existing stock record (404)."""
    view: StockView | None = None
    if body.locations is not None:
        wanted = {name: stock.on_hand for name, stock in body.locations.items()}
        view = await levels.set_stock(product_id, wanted, body.low_stock_threshold)
    elif body.on_hand is not None:
        wanted = {settings.default_location: body.on_hand}
        view = await levels.set_stock(product_id, wanted, body.low_stock_threshold)
    if body.reorder is not None:
        view = await levels.set_reorder(product_id, body.reorder.model_dump(exclude_unset=True))
    assert view is not None  # noqa: S101 - the model requires stock or reorder
    return _public(view)
