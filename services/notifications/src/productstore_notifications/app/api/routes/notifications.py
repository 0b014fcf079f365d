"""The signed-in user's inbox and preferences; the admins' delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from productstore_common.auth import Principal
from productstore_common.errors import problem
from productstore_common.openapi import problems
from productstore_notifications.app.api.deps import (
    AdminChatDep,
    AdminUser,
    CurrentUser,
    DeliveryLogDep,
    NotifierDep,
    PhoneVerificationDep,
    UserNotificationsDep,
)
from productstore_notifications.app.models import (
    DeliveriesPage,
    DeliveryChannel,
    DeliveryOutcome,
    InboxPage,
    PhoneCodeCheck,
    PhoneCodeSent,
    PreferencesPublic,
    PreferencesUpdate,
    Replay,
    ReplayOutcome,
)
from productstore_notifications.app.services.admin_chat import ADMINS

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


def _user_id(principal: Principal) -> uuid.UUID:
    try:
        return uuid.UUID(principal.sub)
    except ValueError:
        raise problem(
            403, "user_token_required", "This needs a user's token, not a service's."
        ) from None


@router.get(
    "",
    response_model=InboxPage,
    responses=problems(401, 403),
    summary="The signed-in user's in-app notifications, newest first",
)
async def inbox(
    user: CurrentUser,
    notifications: UserNotificationsDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Notifications to list")] = 50,
    unread: Annotated[bool, Query(description="Only the unread ones")] = False,
) -> InboxPage:
    return await notifications.inbox(_user_id(user), limit=limit, unread_only=unread)


@router.post(
    "/{notification_id:uuid}/read",
    status_code=204,
    responses=problems(401, 403, 404, s404="You have no such notification"),
    summary="Mark one notification read",
)
async def mark_read(
    notification_id: uuid.UUID, user: CurrentUser, notifications: UserNotificationsDep
) -> Response:
    await notifications.mark_read(_user_id(user), notification_id)
    return Response(status_code=204)


@router.get(
    "/preferences",
    response_model=PreferencesPublic,
    responses=problems(401, 403),
    summary="The signed-in user's notification preferences",
)
async def get_preferences(
    user: CurrentUser, notifications: UserNotificationsDep
) -> PreferencesPublic:
    """Never set: English, no phone, nothing muted (`updated_at` null)."""
    return await notifications.preferences(_user_id(user))


@router.put(
    "/preferences",
    response_model=PreferencesPublic,
    responses=problems(401, 403),
    summary="Replace the signed-in user's notification preferences",
)
async def put_preferences(
    body: PreferencesUpdate, user: CurrentUser, notifications: UserNotificationsDep
) -> PreferencesPublic:
    """Applies to the messages of events handled from now on."""
    return await notifications.put_preferences(_user_id(user), body)


@router.post(
    "/preferences/phone/code",
    status_code=202,
    response_model=PhoneCodeSent,
    responses=problems(
        401,
        403,
        409,
        429,
        503,
        s409="No phone in the preferences (`no_phone`), it is verified already "
        "(`phone_already_verified`), or this store sends no SMS (`sms_not_configured`)",
        s429="Too many codes for this user or this phone an hour (`rate_limited`)",
        s503="No SMS provider took the code (`sms_unavailable`)",
    ),
    summary="Send a one-time code by SMS to the phone in the preferences",
)
async def send_phone_code(user: CurrentUser, phones: PhoneVerificationDep) -> PhoneCodeSent:
    """SMS delivery updates go only to a verified phone. A new code replaces a pending
    one; it works until `expires_at`, for a few guesses."""
    return await phones.send_code(_user_id(user))


@router.post(
    "/preferences/phone/verify",
    response_model=PreferencesPublic,
    responses=problems(
        401,
        403,
        409,
        410,
        422,
        429,
        s409="The phone changed since the code was sent (`phone_changed`)",
        s410="No code is pending: expired, used or never sent (`verification_code_expired`)",
        s422="Not the code sent (`verification_code_invalid`, with `attempts_left`), or not "
        "six digits",
        s429="Too many wrong codes: this one is void (`too_many_attempts`)",
    ),
    summary="Prove the phone with the code the SMS carried",
)
async def verify_phone(
    body: PhoneCodeCheck, user: CurrentUser, phones: PhoneVerificationDep
) -> PreferencesPublic:
    """The preferences, `phone_verified` true."""
    return await phones.verify(_user_id(user), body.code)


@router.get(
    "/deliveries",
    response_model=DeliveriesPage,
    responses=problems(401, 403),
    summary="The delivery log: every attempt, its provider, outcome and latency (admins)",
)
async def deliveries(
    admin: AdminUser,
    log: DeliveryLogDep,
    status: Annotated[DeliveryOutcome | None, Query(description="Only this outcome")] = None,
    channel: Annotated[DeliveryChannel | None, Query(description="Only this channel")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Attempts to list")] = 100,
) -> DeliveriesPage:
    return await log.list(limit=limit, outcome=status, channel=channel)


@router.post(
    "/dead-letters/replay",
    response_model=ReplayOutcome,
    responses=problems(
        401,
        403,
        404,
        409,
        s404="No such dead letter (never dead-lettered, or already replayed)",
        s409="Someone is replaying it now, or the channel is not configured",
    ),
    summary="Send a dead-lettered message again, as it was rendered (admins)",
)
async def replay(
    admin: AdminUser, body: Replay, notifier: NotifierDep, admin_chat: AdminChatDep
) -> ReplayOutcome:
    """Through the channel's provider chain with its rounds; sent, the dead letter is
    removed."""
    if body.channel == "chat":
        outcome = (
            await admin_chat.replay(body.event_id) if body.recipient == ADMINS else "not_found"
        )
    elif body.channel == "email":
        outcome = await notifier.replay(body.event_id, body.recipient)
    elif notifier.mobile is not None:
        outcome = await notifier.mobile.replay(body.event_id, body.recipient, body.channel)
    else:
        outcome = "not_configured"
    if outcome == "not_configured":
        raise problem(
            409,
            "channel_not_configured",
            f"This service sends no {body.channel} (no providers or key configured); "
            "configure the channel, then replay.",
        )
    if outcome == "not_found":
        raise problem(
            404,
            "dead_letter_not_found",
            f"No dead-lettered {body.channel} of event {body.event_id} to {body.recipient}.",
        )
    if outcome == "busy":
        raise problem(
            409, "replay_in_progress", "This message is being sent by another replay; wait."
        )
    return ReplayOutcome.model_validate({"outcome": outcome})
