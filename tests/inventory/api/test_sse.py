"""The SSE response as an ASGI app on its own (the server side is in test_stream_api):
how each way a stream ends shows on the wire."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.types import Message

from productstore_inventory.app.api.sse import EventStreamResponse
from productstore_inventory.app.services.stream import FeedItem
from tests.inventory.support import stock_feed

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _run(
    response: EventStreamResponse, *, disconnect_after: float | None = None
) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        if disconnect_after is None:
            await asyncio.Event().wait()  # a client that stays
        await asyncio.sleep(disconnect_after or 0)
        return {"type": "http.disconnect"}

    scope: dict[str, Any] = {"type": "http"}
    await asyncio.wait_for(response(scope, receive, send), 10)
    return sent


def _body(sent: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def test_a_stream_ends_cleanly_at_its_age_limit_with_heartbeats_on_the_way() -> None:
    feed = stock_feed()
    subscription = feed.subscribe(None)
    response = EventStreamResponse(
        subscription,
        cursor="0:0",
        heartbeat_seconds=0.05,
        max_seconds=0.5,
        on_close=lambda: feed.unsubscribe(subscription),
    )
    feed.publish(FeedItem(0, 7, "0:8", "StockChanged", '{"x":1}'))
    sent = await _run(response)
    assert sent[0]["status"] == 200
    body = _body(sent)
    assert body.startswith(b"retry: 2000\n\n: open\n\n")
    assert b'id: 0:8\nevent: StockChanged\ndata: {"x":1}\n\n' in body
    assert body.count(b": heartbeat\n\n") >= 3
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert feed.open_streams == 0


async def test_a_dropped_stream_is_not_ended_so_the_server_closes_it() -> None:
    feed = stock_feed(queue_size=1)
    subscription = feed.subscribe(None)
    response = EventStreamResponse(
        subscription, cursor="", heartbeat_seconds=5, max_seconds=30, on_close=lambda: None
    )

    async def overflow() -> None:
        await asyncio.sleep(0.1)
        for offset in range(3):  # nothing reads between: the queue of one overflows
            feed.publish(FeedItem(0, offset, f"0:{offset + 1}", "StockChanged", "{}"))

    task = asyncio.create_task(overflow())
    sent = await _run(response)
    await task
    assert subscription.dropped.is_set()
    assert all(m.get("more_body", True) for m in sent)  # no final chunk


async def test_a_gone_client_ends_the_stream_and_frees_its_place() -> None:
    feed = stock_feed()
    subscription = feed.subscribe(None)
    response = EventStreamResponse(
        subscription,
        cursor="",
        heartbeat_seconds=5,
        max_seconds=30,
        on_close=lambda: feed.unsubscribe(subscription),
    )
    sent = await _run(response, disconnect_after=0.1)
    assert all(m.get("more_body", True) for m in sent)
    assert feed.open_streams == 0


async def test_a_gap_opens_with_a_reset_at_the_current_position() -> None:
    feed = stock_feed(replay_size=1)
    for offset in range(3):
        feed.publish(FeedItem(0, offset, f"0:{offset + 1}", "StockChanged", "{}"))
    subscription = feed.subscribe("0:0")
    response = EventStreamResponse(
        subscription, cursor="0:3", heartbeat_seconds=5, max_seconds=0.2, on_close=lambda: None
    )
    body = _body(await _run(response))
    assert body.startswith(b"retry: 2000\n\nid: 0:3\nevent: reset\ndata: {")
