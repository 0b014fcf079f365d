"""Stock: admins set it and list what runs low; everyone reads a product's stock."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from productstore_common.openapi import problems
from productstore_inventory.app.api.deps import AdminUser, LevelsDep, SettingsDep
from productstore_inventory.app.core import errors
from productstore_inventory.app.models import (
    LocationStock,
    LowStockItem,
    LowStockPage,
    StockPublic,
    StockPut,
)
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
        401, 403, 409, s409="on_hand would fall below what unpaid orders hold (`below_reserved`)"
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
    BackInStock when the threshold is crossed."""
    if body.locations is not None:
        wanted = {name: stock.on_hand for name, stock in body.locations.items()}
    else:
        assert body.on_hand is not None  # noqa: S101 - the model requires one of them
        wanted = {settings.default_location: body.on_hand}
    view = await levels.set_stock(product_id, wanted, body.low_stock_threshold)
    return _public(view)
