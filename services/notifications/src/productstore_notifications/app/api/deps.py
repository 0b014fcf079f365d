"""Typed dependencies of the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from productstore_common.auth import AdminUser, CurrentUser
from productstore_common.kit import provide
from productstore_notifications.app.services.broadcasts import Broadcasts
from productstore_notifications.app.services.inbox import DeliveryLog, UserNotifications
from productstore_notifications.app.services.notifier import Notifier
from productstore_notifications.app.services.unsubscribe import Unsubscribes

__all__ = [
    "AdminUser",
    "BroadcastsDep",
    "CurrentUser",
    "DeliveryLogDep",
    "NotifierDep",
    "UnsubscribesDep",
    "UserNotificationsDep",
]

UserNotificationsDep = Annotated[UserNotifications, Depends(provide(UserNotifications))]
DeliveryLogDep = Annotated[DeliveryLog, Depends(provide(DeliveryLog))]
NotifierDep = Annotated[Notifier, Depends(provide(Notifier))]
BroadcastsDep = Annotated[Broadcasts, Depends(provide(Broadcasts))]
UnsubscribesDep = Annotated[Unsubscribes, Depends(provide(Unsubscribes))]
