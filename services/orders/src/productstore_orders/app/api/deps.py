"""Typed dependencies of the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from productstore_common.auth import AdminUser, CurrentUser
from productstore_common.kit import provide
from productstore_orders.app.core.config import OrdersSettings
from productstore_orders.app.services.cart import Carts
from productstore_orders.app.services.checkout import Checkout, OrderReads
from productstore_orders.app.services.lifecycle import Lifecycle

__all__ = [
    "AdminUser",
    "CartsDep",
    "CheckoutDep",
    "CurrentUser",
    "LifecycleDep",
    "ReadsDep",
    "SettingsDep",
]

CartsDep = Annotated[Carts, Depends(provide(Carts))]
CheckoutDep = Annotated[Checkout, Depends(provide(Checkout))]
ReadsDep = Annotated[OrderReads, Depends(provide(OrderReads))]
LifecycleDep = Annotated[Lifecycle, Depends(provide(Lifecycle))]
SettingsDep = Annotated[OrdersSettings, Depends(provide(OrdersSettings))]
