"""Typed dependencies of the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from productstore_common.auth import AdminUser
from productstore_common.kit import provide
from productstore_inventory.app.core.config import InventorySettings
from productstore_inventory.app.services.reorder import ReorderPlanner
from productstore_inventory.app.services.stock import StockLevels
from productstore_inventory.app.services.stream import StockFeed

__all__ = ["AdminUser", "FeedDep", "LevelsDep", "PlannerDep", "SettingsDep"]

LevelsDep = Annotated[StockLevels, Depends(provide(StockLevels))]
SettingsDep = Annotated[InventorySettings, Depends(provide(InventorySettings))]
PlannerDep = Annotated[ReorderPlanner, Depends(provide(ReorderPlanner))]
FeedDep = Annotated[StockFeed, Depends(provide(StockFeed))]
