"""The admins' live stock feed: Server-Sent Events of stock changes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import Response

from productstore_common.openapi import problems
from productstore_inventory.app.api.deps import AdminUser, FeedDep, SettingsDep
from productstore_inventory.app.api.sse import MEDIA_TYPE, EventStreamResponse
from productstore_inventory.app.core import errors
from productstore_inventory.app.services.stream import BadCursorError, StreamsFullError

router = APIRouter(prefix="/api/inventory", tags=["inventory"])

_STREAM_200: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "`text/event-stream`: events `StockChanged`, `LowStock`, `BackInStock`, each "
            "`data` the CloudEvent as published on productstore.inventory and `id` the "
            "stream position to resume from; comment lines as heartbeats; `reset` when "
            "Last-Event-ID reaches back further than the service keeps (re-read the stock)"
        ),
        "content": {MEDIA_TYPE: {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/stream",
    response_class=Response,
    responses={
        **_STREAM_200,
        **problems(
            401,
            403,
            422,
            503,
            s422="Last-Event-ID is not a position this stream sent",
            s503="This replica serves as many streams as it allows (`streams_full`)",
        ),
    },
    summary="Stock changes as they happen, as Server-Sent Events (admin)",
)
async def stream(
    admin: AdminUser,
    feed: FeedDep,
    settings: SettingsDep,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=20_000,
            description="Resume after this event (EventSource sends it on reconnect)",
        ),
    ] = None,
) -> Response:
    """Every replica's stock changes (each replica reads the whole inventory topic).
    A client that falls `stream_queue_size` events behind is disconnected; it
    reconnects with Last-Event-ID and gets what it missed from the recent events the
    replica keeps, or a `reset` event. Streams end after `stream_max_seconds` (the
    client reconnects) and when the service stops."""
    try:
        subscription = feed.subscribe(last_event_id)
    except StreamsFullError:
        raise errors.streams_full(feed.max_streams) from None
    except BadCursorError as exc:
        raise errors.bad_last_event_id(str(exc)) from None
    return EventStreamResponse(
        subscription,
        cursor=feed.cursor(),
        heartbeat_seconds=settings.stream_heartbeat_seconds,
        max_seconds=settings.stream_max_seconds,
        on_close=lambda: feed.unsubscribe(subscription),
    )
