"""Typed dependencies of the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from productstore_common.auth import AdminUser, CurrentUser
from productstore_common.kit import provide
from productstore_notifications.app.services.inbox import DeliveryLog, UserNotifications
from productstore_notifications.app.services.notifier import Notifier

__all__ = ["AdminUser", "CurrentUser", "DeliveryLogDep", "NotifierDep", "UserNotificationsDep"]

UserNotificationsDep = Annotated[UserNotifications, Depends(provide(UserNotifications))]
DeliveryLogDep = Annotated[DeliveryLog, Depends(provide(DeliveryLog))]
NotifierDep = Annotated[Notifier, Depends(provide(Notifier))]
