"""The admins' stock stream over a real HTTP server (uvicorn on loopback, in the test's
event loop, serving the module's app): a PUT's change arrives, on another replica
too; resuming with Last-Event-ID; heartbeats; the per-replica cap; a slow client is
cut off; a closing feed ends streams cleanly. Small limits, so each is reached."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from productstore_common.kit.container import container_of
from productstore_common.telemetry.metrics import metrics_of
from productstore_inventory.app.core.config import InventorySettings
from productstore_inventory.app.main import create_app
from productstore_inventory.app.services.stream import FeedItem, StockFeed
from tests.catalog.support import Tokens, wait_ready
from tests.inventory.support import assert_problem, bearer

pytestmark = pytest.mark.anyio

PATH = "/api/inventory/stream"
MAX_STREAMS = 2
QUEUE = 4
REPLAY = 3


@pytest.fixture(scope="module")
def overrides() -> dict[str, object]:
    return {
        "stream_max_connections": MAX_STREAMS,
        "stream_queue_size": QUEUE,
        "stream_replay_size": REPLAY,
        "stream_heartbeat_seconds": 0.3,
    }


def feed_of(app: FastAPI) -> StockFeed:
    return container_of(app).get(StockFeed)


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """`app` (its lifespan already running) served on a free loopback port."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="warning",
        log_config=None,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert not task.done(), task
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@pytest.fixture(scope="module")
async def base_url(app: FastAPI) -> AsyncIterator[str]:
    await asyncio.wait_for(feed_of(app).ready.wait(), 60)
    async with serving(app) as url:
        yield url


@pytest.fixture
async def http(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        yield client


class Sse:
    """Events of one open stream: (fields of a block) one block at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def block(self, timeout: float = 30) -> dict[str, str]:
        fields: dict[str, str] = {}
        while True:
            line = await asyncio.wait_for(anext(self._lines), timeout)
            if not line:
                if fields:
                    return fields
                continue
            name, _, value = line.partition(":")
            name = name or "comment"
            fields[name] = fields.get(name, "") + value.removeprefix(" ")

    async def event(self, kind: str, subject: str, timeout: float = 60) -> dict[str, str]:
        """The next `kind` event about `subject`, skipping others and heartbeats."""
        deadline = time.monotonic() + timeout
        while True:
            block = await self.block(max(deadline - time.monotonic(), 0.1))
            if block.get("event") == kind and json.loads(block["data"])["subject"] == subject:
                return block


@contextlib.asynccontextmanager
async def stream(
    http: httpx.AsyncClient, token: str, last_event_id: str | None = None
) -> AsyncIterator[Sse]:
    headers = bearer(token)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    async with http.stream("GET", PATH, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Sse(response)


async def _put(http: httpx.AsyncClient, tokens: Tokens, product: uuid.UUID, units: int) -> None:
    response = await http.put(
        f"/api/inventory/{product}",
        json={"on_hand": units, "low_stock_threshold": 2},
        headers=bearer(tokens.admin),
    )
    assert response.status_code == 200, response.text


async def test_a_put_arrives_and_a_crossing_too(http: httpx.AsyncClient, tokens: Tokens) -> None:
    product = uuid.uuid4()
    async with stream(http, tokens.admin) as sse:
        assert await sse.block() == {"retry": "2000"}  # reconnect after 2 s
        assert await sse.block() == {"comment": "open"}
        await _put(http, tokens, product, 5)
        changed = await sse.event("StockChanged", str(product))
        data = json.loads(changed["data"])
        # `data` is the CloudEvent as published on the topic.
        assert (data["type"], data["data"]["available"], data["data"]["on_hand"]) == (
            "productstore.inventory.StockChanged.v1",
            5,
            5,
        )
        assert changed["id"]
        await _put(http, tokens, product, 1)
        low = await sse.event("LowStock", str(product))
        assert json.loads(low["data"])["data"]["threshold"] == 2


async def test_every_replica_streams_every_change(
    app: FastAPI, http: httpx.AsyncClient, tokens: Tokens, settings: InventorySettings
) -> None:
    other = create_app(settings.model_copy(update={"consume_orders": False}))
    async with other.router.lifespan_context(other):
        await wait_ready(other)
        await asyncio.wait_for(feed_of(other).ready.wait(), 60)
        async with (
            serving(other) as other_url,
            httpx.AsyncClient(base_url=other_url, timeout=30) as other_http,
            stream(other_http, tokens.admin) as sse,
        ):
            product = uuid.uuid4()
            await _put(http, tokens, product, 7)  # written through the first replica
            changed = await sse.event("StockChanged", str(product))
            assert json.loads(changed["data"])["data"]["on_hand"] == 7


async def test_a_client_resumes_after_its_last_event(
    app: FastAPI, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    async with stream(http, tokens.admin) as sse:
        await _put(http, tokens, first, 9)
        seen = await sse.event("StockChanged", str(first))
    await _put(http, tokens, second, 9)  # while the client is away
    feed = feed_of(app)
    deadline = time.monotonic() + 60
    while not any(str(second) in item.data for item in feed.recent):
        assert time.monotonic() < deadline, "the feed never read the change"
        await asyncio.sleep(0.1)
    async with stream(http, tokens.admin, seen["id"]) as sse:
        # Replayed from the kept events; the one the client had is not sent again.
        block = await sse.block()
        while block.get("event") is None:
            block = await sse.block()
        assert json.loads(block["data"])["subject"] == str(second)
        assert block["event"] == "StockChanged"


async def test_a_position_older_than_what_is_kept_is_a_reset(
    app: FastAPI, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    feed = feed_of(app)
    products = [uuid.uuid4() for _ in range(REPLAY + 1)]
    for product in products:
        await _put(http, tokens, product, 3)
    # Once the last is read, the first of them (at least) is no longer kept.
    deadline = time.monotonic() + 60
    while not any(str(products[-1]) in item.data for item in feed.recent):
        assert time.monotonic() < deadline, "the feed never read the change"
        await asyncio.sleep(0.1)
    cursor = ",".join(f"{partition}:0" for partition in range(3))
    async with stream(http, tokens.admin, cursor) as sse:
        assert await sse.block() == {"retry": "2000"}
        block = await sse.block()
        assert block["event"] == "reset", block
        assert "re-read" in json.loads(block["data"])["detail"]


async def test_a_bad_last_event_id_is_a_problem(http: httpx.AsyncClient, tokens: Tokens) -> None:
    headers = {**bearer(tokens.admin), "Last-Event-ID": "yesterday"}
    response = await http.get(PATH, headers=headers)
    assert assert_problem(response, 422)["reason"] == "bad_last_event_id"


async def test_heartbeats_keep_an_idle_stream_alive(
    http: httpx.AsyncClient, tokens: Tokens
) -> None:
    async with stream(http, tokens.admin) as sse:
        comments: list[str] = []
        while len(comments) < 3:
            block = await sse.block(timeout=5)
            if "comment" in block and "event" not in block:
                comments.append(block["comment"])
        assert comments == ["open", "heartbeat", "heartbeat"]


async def test_streams_beyond_the_cap_are_refused(
    app: FastAPI, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    async with contextlib.AsyncExitStack() as open_streams:
        for _ in range(MAX_STREAMS):
            await open_streams.enter_async_context(stream(http, tokens.admin))
        refused = await http.get(PATH, headers=bearer(tokens.admin))
        problem = assert_problem(refused, 503)
        assert problem["reason"] == "streams_full"
        assert refused.headers["retry-after"] == "5"
    # Closed streams free their places.
    deadline = time.monotonic() + 10
    while feed_of(app).open_streams:
        assert time.monotonic() < deadline, feed_of(app).open_streams
        await asyncio.sleep(0.05)
    async with stream(http, tokens.admin) as sse:
        assert "retry" in await sse.block()


async def test_a_closing_feed_ends_its_streams_cleanly(
    app: FastAPI, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    async with stream(http, tokens.admin) as sse:
        await sse.block()
        feed_of(app).close_all()  # what the app's stop does

        async def drain() -> None:
            with contextlib.suppress(StopAsyncIteration):
                while True:
                    await sse.block()

        # The response ends (a complete chunked body), not with a broken connection.
        await asyncio.wait_for(drain(), 10)


async def test_a_client_that_does_not_read_is_cut_off(
    app: FastAPI, base_url: str, tokens: Tokens
) -> None:
    feed = feed_of(app)
    host, port = base_url.removeprefix("http://").split(":")
    slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(slow, (host, int(port)))
    request = f"GET {PATH} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {tokens.admin}\r\n\r\n"
    await loop.sock_sendall(slow, request.encode())
    try:
        deadline = time.monotonic() + 10
        while feed.open_streams == 0:
            assert time.monotonic() < deadline, "the stream did not open"
            await asyncio.sleep(0.05)
        dropped_before = _dropped(app)
        # Synthetic changes (partition 999: no real position) of 64 KiB each, until
        # the client's queue of QUEUE is full behind its full socket buffers. Bounded.
        payload = json.dumps({"subject": "slow", "pad": "x" * 65536})
        for offset in range(2000):
            feed.publish(FeedItem(999, offset, f"999:{offset + 1}", "StockChanged", payload))
            await asyncio.sleep(0)
            if feed.open_streams == 0:
                break
        assert feed.open_streams == 0, "the slow stream was never dropped"
        assert offset + 1 < 2000
        assert _dropped(app) == dropped_before + 1
        # The server closed the connection: reading what was sent ends in EOF.
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline, "the connection stayed open"
            try:
                chunk = await asyncio.wait_for(loop.sock_recv(slow, 1 << 20), 5)
            except ConnectionResetError:
                break
            if not chunk:
                break
    finally:
        slow.close()


def _dropped(app: FastAPI) -> float:
    text = metrics_of(app).render().decode()
    for line in text.splitlines():
        if line.startswith("inventory_streams_dropped_total "):
            return float(line.split()[1])
    return 0.0
