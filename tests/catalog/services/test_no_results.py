"""Searches without results, recorded off the request path: counted in memory,
flushed to devstack's Redis, read back as at most ten gauge series; a full buffer
and a Redis outage are counted, never raised."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest
import redis.asyncio as redis

from devstack.components.redis import Redis
from productstore_catalog.app.data.no_results import NoResultLog
from productstore_catalog.app.services.no_results import TOP_RANKS, NoResultSearches
from productstore_common.telemetry.metrics import AppMetrics
from tests.support.metrics import Scrape
from tests.support.proxy import TcpProxy, tcp_proxy

pytestmark = pytest.mark.anyio

DAY = dt.date(2026, 3, 1)
TOP = "catalog_search_no_results_top"
UNRECORDED = "catalog_search_no_results_unrecorded_total"


@pytest.fixture
def redis_proxy(redis_server: Redis) -> Iterator[TcpProxy]:
    url = urlsplit(redis_server.env()["REDIS_URL"])
    assert url.hostname is not None and url.port is not None
    with tcp_proxy(url.hostname, url.port, lifetime=120) as proxy:
        yield proxy


@pytest.fixture
async def through_proxy(redis_proxy: TcpProxy) -> AsyncIterator[redis.Redis]:
    # The service's own timeouts (kit.connections): an outage costs a flush 0.5 s at most.
    client = redis.Redis.from_url(
        f"redis://{redis_proxy.address}/0", socket_timeout=0.5, socket_connect_timeout=0.5
    )
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def prefix(redis_client: redis.Redis) -> AsyncIterator[str]:
    name = f"catalog-test-{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        keys = [key async for key in redis_client.scan_iter(f"{name}:*")]
        if keys:
            await redis_client.delete(*keys)


def _recorder(
    client: redis.Redis, prefix: str, **options: float
) -> tuple[NoResultSearches, AppMetrics]:
    metrics = AppMetrics("catalog-test", process_metrics=False)
    searches = NoResultSearches(
        NoResultLog(client, prefix=prefix, kept=100, retention_days=3),
        metrics,
        flush_seconds=options.get("flush_seconds", 60.0),
        refresh_seconds=options.get("refresh_seconds", 60.0),
        buffer_limit=int(options.get("buffer_limit", 1000)),
        today=lambda: DAY,
    )
    return searches, metrics


def _scrape(metrics: AppMetrics) -> Scrape:
    return Scrape.of(metrics.render().decode())


def _top(scrape: Scrape) -> dict[str, tuple[str, float]]:
    """The gauge's series as rank -> (query, searches)."""
    return {
        dict(labels)["rank"]: (dict(labels)["query"], value)
        for (name, labels), value in scrape.samples.items()
        if name == TOP
    }


async def test_the_gauge_holds_the_top_ten_normalised_and_nothing_more(
    redis_client: redis.Redis, prefix: str
) -> None:
    searches, metrics = _recorder(redis_client, prefix)
    for n in range(25):  # text n searched n + 1 times
        for _ in range(n + 1):
            searches.saw(f"  Missing  THING {n:02d} ")
    assert await searches.flush()
    assert await searches.refresh()
    top = _top(_scrape(metrics))
    assert top == {
        str(rank): (f"missing thing {25 - rank:02d}", 26 - rank) for rank in range(1, 11)
    }
    assert len(top) == TOP_RANKS

    # Yesterday counts too; a text that falls out of the ten leaves the exposition.
    await searches.log.add({"yesterday's favourite": 1000}, DAY - dt.timedelta(days=1))
    assert await searches.refresh()
    top = _top(_scrape(metrics))
    assert top["1"] == ("yesterday's favourite", 1000.0)
    assert len(top) == TOP_RANKS
    assert "missing thing 15" not in {query for query, _ in top.values()}


async def test_a_full_buffer_counts_new_texts_and_still_counts_known_ones(
    redis_client: redis.Redis, prefix: str
) -> None:
    searches, metrics = _recorder(redis_client, prefix, buffer_limit=2)
    for text in ("a", "b", "c", "d", "a", "A ", "   "):
        searches.saw(text)
    assert _scrape(metrics).value(UNRECORDED, reason="buffer_full") == 2
    assert await searches.flush()
    assert await searches.log.top(days=1, limit=10, today=DAY) == [("a", 3), ("b", 1)]
    searches.saw("c")  # room again after the flush
    assert await searches.flush()
    assert ("c", 1) in await searches.log.top(days=1, limit=10, today=DAY)


async def test_redis_down_drops_and_counts_and_the_gauge_keeps_its_values(
    through_proxy: redis.Redis, redis_proxy: TcpProxy, prefix: str
) -> None:
    searches, metrics = _recorder(through_proxy, prefix)
    searches.saw("kept before")
    assert await searches.flush() and await searches.refresh()
    before = _scrape(metrics)

    redis_proxy.cut()
    for _ in range(3):
        searches.saw("lost in the outage")
    assert not await searches.flush()
    assert not await searches.refresh()
    during = _scrape(metrics)
    assert during.grew(before, UNRECORDED, reason="redis_error") == 3
    assert during.grew(before, "catalog_search_no_results_top_refresh_errors_total") == 1
    assert _top(during) == {"1": ("kept before", 1)}

    redis_proxy.restore()
    searches.saw("after the outage")
    for _ in range(20):  # the client reconnects on its next command
        if await searches.flush():
            break
        searches.saw("after the outage")
        await asyncio.sleep(0.25)
    assert await searches.refresh()
    queries = {query for query, _ in _top(_scrape(metrics)).values()}
    assert queries >= {"kept before", "after the outage"}
    assert "lost in the outage" not in queries


async def test_running_flushes_and_refreshes_on_its_own_and_flushes_at_exit(
    redis_client: redis.Redis, prefix: str
) -> None:
    searches, metrics = _recorder(redis_client, prefix, flush_seconds=0.1, refresh_seconds=0.1)
    async with searches.running():
        searches.saw("periodic")
        for _ in range(50):
            if _top(_scrape(metrics)).get("1") == ("periodic", 1):
                break
            await asyncio.sleep(0.1)
        assert _top(_scrape(metrics)) == {"1": ("periodic", 1)}
        searches.saw("at exit")
    assert ("at exit", 1) in await searches.log.top(days=1, limit=10, today=DAY)


async def test_the_loops_end_even_when_a_step_swallows_the_cancellation() -> None:
    """A Redis call cancelled inside its own timeout can end as an error the step handles
    instead of a cancellation; the loop must still end, or the app's shutdown (which
    awaits it) hangs, as a replica's teardown once did for 15 minutes."""
    entered = asyncio.Event()
    swallow = True

    async def swallowing_step() -> bool:
        entered.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if not swallow:
                raise
            return False  # handled, as the step handles a Redis error
        return True

    task = asyncio.create_task(NoResultSearches._every(0.01, swallowing_step))
    await asyncio.wait_for(entered.wait(), 5)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    swallow = False
    if not done:  # ends the test instead of hanging it
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert done, "the loop went on after it was cancelled"
    assert task.cancelled()
