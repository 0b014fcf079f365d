"""The signed-in user's Web Push subscriptions (`/api/notifications/devices`)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from productstore_common.openapi import problems
from productstore_notifications.app.api.deps import CurrentUser, DevicesDep, user_id_of
from productstore_notifications.app.models import (
    DeviceCreate,
    DeviceDelete,
    DevicePublic,
    DevicesPage,
)

router = APIRouter(prefix="/api/notifications/devices", tags=["devices"])


@router.get(
    "",
    response_model=DevicesPage,
    responses=problems(401, 403),
    summary="The signed-in user's Web Push subscriptions, and the VAPID public key",
)
async def list_devices(user: CurrentUser, devices: DevicesDep) -> DevicesPage:
    """`vapid_public_key` is what a page passes to `PushManager.subscribe` as
    `applicationServerKey`."""
    return await devices.list(user_id_of(user))


@router.post(
    "",
    status_code=201,
    response_model=DevicePublic,
    responses=problems(
        401,
        403,
        409,
        422,
        503,
        s409="The user has the most subscriptions kept (`too_many_devices`)",
        s422="A bad endpoint (not https, not a known push service) or keys "
        "(`invalid_subscription`)",
        s503="Push is not configured (`push_not_configured`)",
    ),
    summary="Keep a Web Push subscription (a browser's PushSubscription.toJSON())",
)
async def add_device(body: DeviceCreate, user: CurrentUser, devices: DevicesDep) -> DevicePublic:
    """The same endpoint again replaces its keys. Order updates are pushed to every
    subscription; one the push service calls gone (404/410) is dropped."""
    return await devices.add(user_id_of(user), body)


@router.delete(
    "",
    status_code=204,
    responses=problems(401, 403, 404, s404="No subscription of yours has this endpoint"),
    summary="Drop a Web Push subscription (the browser unsubscribed)",
)
async def remove_device(body: DeviceDelete, user: CurrentUser, devices: DevicesDep) -> Response:
    await devices.remove(user_id_of(user), body.endpoint)
    return Response(status_code=204)
