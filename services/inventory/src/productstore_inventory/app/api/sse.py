"""A Server-Sent Events response over a feed subscription: events as they come,
a comment line as heartbeat, and an end the client can tell apart from a drop.

It ends the response (the client reconnects with Last-Event-ID) when the feed
closes or the stream reaches its maximum age, and stops without ending it (the
server closes the connection) when its client fell a whole queue behind: a slow
client is cut off, its events are not kept for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Final

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from productstore_inventory.app.services.stream import FeedItem, Subscription

MEDIA_TYPE: Final = "text/event-stream"
# How long a browser's EventSource waits before reconnecting, in milliseconds.
RETRY_MS: Final = 2000


def format_event(item: FeedItem) -> bytes:
    return f"id: {item.cursor}\nevent: {item.event_type}\ndata: {item.data}\n\n".encode()


def format_control(event: str, data: dict[str, object], cursor: str | None = None) -> bytes:
    head = f"id: {cursor}\n" if cursor is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class EventStreamResponse(Response):
    """A Response (so FastAPI sends it as it is) whose body is the stream."""

    media_type = MEDIA_TYPE

    def __init__(
        self,
        subscription: Subscription,
        *,
        cursor: str,
        heartbeat_seconds: float,
        max_seconds: float,
        on_close: Callable[[], None],
    ) -> None:
        self.subscription = subscription
        self.cursor = cursor
        self.heartbeat_seconds = heartbeat_seconds
        self.max_seconds = max_seconds
        self.on_close = on_close
        self.status_code = 200
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", f"{MEDIA_TYPE}; charset=utf-8".encode()),
                        (b"cache-control", b"no-store"),
                        # nginx must pass events on at once, not buffer them.
                        (b"x-accel-buffering", b"no"),
                    ],
                }
            )
            ended = await self._race(send, receive)
            if ended:
                with contextlib.suppress(OSError):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.on_close()

    async def _race(self, send: Send, receive: Receive) -> bool:
        """Run the stream until it ends; True when the response should be ended
        cleanly, False when the connection is to be dropped."""
        pump = asyncio.create_task(self._pump(send))
        gone = asyncio.create_task(_disconnected(receive))
        dropped = asyncio.create_task(self.subscription.dropped.wait())
        closed = asyncio.create_task(self.subscription.closed.wait())
        tasks = {pump, gone, dropped, closed}
        try:
            done, pending = await asyncio.wait(
                tasks, timeout=self.max_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        except BaseException:
            # The request itself was cancelled (a server's forced stop): take the
            # stream's tasks along.
            for task in tasks:
                task.cancel()
            raise
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        if pump in done and pump.exception() is not None:
            return False  # the client's connection broke under a write
        return dropped not in done and gone not in done

    async def _pump(self, send: Send) -> None:
        async def body(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        opening = f"retry: {RETRY_MS}\n\n".encode()
        if self.subscription.gap:
            opening += format_control(
                "reset",
                {"detail": "events since Last-Event-ID are no longer kept; re-read the stock"},
                self.cursor,
            )
        else:
            # A comment, so the client sees the stream open before the first change.
            opening += b": open\n\n"
        await body(opening)
        queue = self.subscription.queue
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), self.heartbeat_seconds)
            except TimeoutError:
                await body(b": heartbeat\n\n")
                continue
            chunk = format_event(item)
            # Whatever else is waiting goes in the same write.
            while not queue.empty():
                chunk += format_event(queue.get_nowait())
            await body(chunk)


async def _disconnected(receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
