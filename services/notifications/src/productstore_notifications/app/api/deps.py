"""Typed dependencies of the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from productstore_common.auth import AdminUser, CurrentUser
from productstore_common.kit import provide
from productstore_notifications.app.services.inbox import DeliveryLog, UserNotifications

__all__ = ["AdminUser", "CurrentUser", "DeliveryLogDep", "UserNotificationsDep"]

UserNotificationsDep = Annotated[UserNotifications, Depends(provide(UserNotifications))]
DeliveryLogDep = Annotated[DeliveryLog, Depends(provide(DeliveryLog))]
