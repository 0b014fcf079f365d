"""Redis down: searches that find nothing still answer, their words are counted as
not recorded, the admins' report is a 503 naming Redis; back once Redis is.

The catalog reaches devstack's Redis through a loopback proxy of this module's own
(tests.support.proxy), cut to make the outage: the shared server is never stopped.
"""

from __future__ import annotations

import asyncio
import random
import string
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.redis import Redis
from productstore_catalog.app.core.config import CatalogSettings
from tests.catalog.conftest import JWKS_PATH
from tests.catalog.support import (
    AuthServer,
    Backing,
    Tokens,
    catalog_settings,
    forget_searches_without_results,
)
from tests.support.metrics import scrape
from tests.support.outages import assert_unavailable, seconds_until
from tests.support.problems import bearer
from tests.support.proxy import TcpProxy, tcp_proxy

pytestmark = pytest.mark.anyio

SEARCH = "/api/products/search"
NO_RESULTS = "/api/products/search/no-results"
UNRECORDED = "catalog_search_no_results_unrecorded_total"
FLUSH_SECONDS = 0.2


@pytest.fixture(scope="module")
def redis_proxy(redis_server: Redis) -> Iterator[TcpProxy]:
    url = urlsplit(redis_server.env()["REDIS_URL"])
    assert url.hostname is not None and url.port is not None
    with tcp_proxy(url.hostname, url.port, lifetime=600) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def settings(  # noqa: PLR0917 (fixtures)
    cassandra: Cassandra,
    redis_server: Redis,
    kafka: Kafka,
    backing: Backing,
    auth_server: AuthServer,
    redis_proxy: TcpProxy,
) -> CatalogSettings:
    return catalog_settings(
        cassandra,
        redis_server,
        kafka,
        backing,
        auth_server.url + JWKS_PATH,
        redis_url=f"redis://{redis_proxy.address}/0",
        search_no_results_flush_seconds=FLUSH_SECONDS,
        search_no_results_top_refresh_seconds=FLUSH_SECONDS,
    )


@pytest.fixture(scope="module", autouse=True)
def _forget_recorded(settings: CatalogSettings, redis_server: Redis) -> Iterator[None]:
    yield
    forget_searches_without_results(redis_server, settings)


def _word() -> str:
    return "Vyx" + "".join(random.choices(string.ascii_lowercase, k=10))  # noqa: S311


async def test_searches_go_on_and_are_counted_unrecorded_while_redis_is_down(
    client: httpx.AsyncClient, tokens: Tokens, redis_proxy: TcpProxy
) -> None:
    admin = bearer(tokens.admin)
    assert (await client.get(NO_RESULTS, headers=admin)).status_code == 200
    before = await scrape(client)

    redis_proxy.cut()
    try:
        for _ in range(3):
            # Distinct words: each search is rendered, none comes from the page cache.
            found = await client.get(SEARCH, params={"q": _word()})
            assert found.status_code == 200 and found.json()["total"] == 0, found.text
        for _ in range(50):
            during = await scrape(client)
            if during.grew(before, UNRECORDED, reason="redis_error") >= 3:
                break
            await asyncio.sleep(FLUSH_SECONDS)
        assert during.grew(before, UNRECORDED, reason="redis_error") == 3
        assert during.grew(before, UNRECORDED, reason="buffer_full") == 0
        assert_unavailable(await client.get(NO_RESULTS, headers=admin), "redis")
    finally:
        redis_proxy.restore()

    after_outage = _word()
    seconds, _ = await seconds_until(
        lambda: client.get(NO_RESULTS, headers=admin), 200, timeout=10.0
    )
    assert seconds < 10.0
    assert (await client.get(SEARCH, params={"q": after_outage})).json()["total"] == 0
    for _ in range(50):
        report = (await client.get(NO_RESULTS, headers=admin, params={"limit": 100})).json()
        if after_outage.lower() in {entry["query"] for entry in report["queries"]}:
            break
        await asyncio.sleep(FLUSH_SECONDS)
    assert {"query": after_outage.lower(), "searches": 1} in report["queries"]
