"""Typed dependencies of the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from productstore_common.auth import AdminUser
from productstore_common.kit import provide
from productstore_inventory.app.core.config import InventorySettings
from productstore_inventory.app.services.stock import StockLevels

__all__ = ["AdminUser", "LevelsDep", "SettingsDep"]

LevelsDep = Annotated[StockLevels, Depends(provide(StockLevels))]
SettingsDep = Annotated[InventorySettings, Depends(provide(InventorySettings))]
