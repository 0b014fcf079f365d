"""Typed dependencies of the routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from productstore_common.auth import AdminUser, CurrentUser, Principal
from productstore_common.errors import problem
from productstore_common.kit import provide
from productstore_notifications.app.services.admin_chat import AdminChat
from productstore_notifications.app.services.broadcasts import Broadcasts
from productstore_notifications.app.services.devices import Devices
from productstore_notifications.app.services.inbox import DeliveryLog, UserNotifications
from productstore_notifications.app.services.notifier import Notifier
from productstore_notifications.app.services.phone import PhoneVerification
from productstore_notifications.app.services.unsubscribe import Unsubscribes

__all__ = [
    "AdminChatDep",
    "AdminUser",
    "BroadcastsDep",
    "CurrentUser",
    "DeliveryLogDep",
    "DevicesDep",
    "NotifierDep",
    "PhoneVerificationDep",
    "UnsubscribesDep",
    "UserNotificationsDep",
    "user_id_of",
]

UserNotificationsDep = Annotated[UserNotifications, Depends(provide(UserNotifications))]
DeliveryLogDep = Annotated[DeliveryLog, Depends(provide(DeliveryLog))]
NotifierDep = Annotated[Notifier, Depends(provide(Notifier))]
AdminChatDep = Annotated[AdminChat, Depends(provide(AdminChat))]
DevicesDep = Annotated[Devices, Depends(provide(Devices))]
BroadcastsDep = Annotated[Broadcasts, Depends(provide(Broadcasts))]
UnsubscribesDep = Annotated[Unsubscribes, Depends(provide(Unsubscribes))]
PhoneVerificationDep = Annotated[PhoneVerification, Depends(provide(PhoneVerification))]


def user_id_of(principal: Principal) -> uuid.UUID:
    """The signed-in user's id; a service's token (no user) is refused."""
    try:
        return uuid.UUID(principal.sub)
    except ValueError:
        raise problem(
            403, "user_token_required", "This needs a user's token, not a service's."
        ) from None
