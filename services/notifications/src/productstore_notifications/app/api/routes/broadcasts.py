"""Admins' promotions to a segment of the users who consented to them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from productstore_common.openapi import problems
from productstore_common.ratelimit import RATE_LIMITED_RESPONSES
from productstore_notifications.app.api.deps import AdminUser, BroadcastsDep
from productstore_notifications.app.models import BroadcastCreate, BroadcastPublic

router = APIRouter(prefix="/api/notifications/broadcasts", tags=["broadcasts"])


@router.post(
    "",
    status_code=202,
    response_model=BroadcastPublic,
    responses={**problems(401, 403), **RATE_LIMITED_RESPONSES},
    summary="Send a promotion to a segment of the consenting users (admins)",
)
async def create_broadcast(
    body: BroadcastCreate, admin: AdminUser, broadcasts: BroadcastsDep
) -> BroadcastPublic:
    """Accepted and sent in the background at the service's broadcast rate, to every user
    who turned `promotions` on (of the segment's language, if it names one), in their
    language (English when the broadcast has no text in it), e-mail and inbox, minus each
    user's `promotion` opt-outs. Every e-mail carries a one-click unsubscribe link. Each
    admin may start `BROADCASTS_PER_HOUR` broadcasts an hour (6 by default; refused
    requests do not count), then 429 with `Retry-After`."""
    return await broadcasts.create(body, admin.sub)


@router.get(
    "/{broadcast_id:uuid}",
    response_model=BroadcastPublic,
    responses=problems(401, 403, 404, s404="No such broadcast"),
    summary="How far a broadcast got (admins)",
)
async def get_broadcast(
    broadcast_id: uuid.UUID, admin: AdminUser, broadcasts: BroadcastsDep
) -> BroadcastPublic:
    return await broadcasts.get(broadcast_id)
