"""Typed dependencies of the routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from productstore_common.auth import AdminUser, CurrentUser, Principal
from productstore_common.errors import problem
from productstore_common.kit import provide
from productstore_notifications.app.services.devices import Devices
from productstore_notifications.app.services.inbox import DeliveryLog, UserNotifications
from productstore_notifications.app.services.notifier import Notifier

__all__ = [
    "AdminUser",
    "CurrentUser",
    "DeliveryLogDep",
    "DevicesDep",
    "NotifierDep",
    "UserNotificationsDep",
    "user_id_of",
]

UserNotificationsDep = Annotated[UserNotifications, Depends(provide(UserNotifications))]
DeliveryLogDep = Annotated[DeliveryLog, Depends(provide(DeliveryLog))]
NotifierDep = Annotated[Notifier, Depends(provide(Notifier))]
DevicesDep = Annotated[Devices, Depends(provide(Devices))]


def user_id_of(principal: Principal) -> uuid.UUID:
    """The signed-in user's id; a service's token (no user) is refused."""
    try:
        return uuid.UUID(principal.sub)
    except ValueError:
        raise problem(
            403, "user_token_required", "This needs a user's token, not a service's."
        ) from None
