"""Which searches find nothing (`GET /api/products/search/no-results`, admins): the
words of first pages with no match, normalised, from the route and the page cache
alike, in devstack's Redis; the top ten on /metrics; bad parameters are problems."""

from __future__ import annotations

import asyncio
import random
import string
from collections.abc import Iterator

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
    create_category,
    create_product,
    forget_searches_without_results,
)
from tests.support.metrics import scrape
from tests.support.problems import assert_problem, bearer

pytestmark = pytest.mark.anyio

SEARCH = "/api/products/search"
NO_RESULTS = "/api/products/search/no-results"
FLUSH_SECONDS = 0.2


@pytest.fixture(scope="module")
def settings(
    cassandra: Cassandra,
    redis_server: Redis,
    kafka: Kafka,
    backing: Backing,
    auth_server: AuthServer,
) -> CatalogSettings:
    return catalog_settings(
        cassandra,
        redis_server,
        kafka,
        backing,
        auth_server.url + JWKS_PATH,
        search_no_results_flush_seconds=FLUSH_SECONDS,
        search_no_results_top_refresh_seconds=FLUSH_SECONDS,
    )


@pytest.fixture(scope="module", autouse=True)
def _forget_recorded(settings: CatalogSettings, redis_server: Redis) -> Iterator[None]:
    yield
    assert forget_searches_without_results(redis_server, settings), "nothing was recorded"


def _word() -> str:
    return "Zorq" + "".join(random.choices(string.ascii_lowercase, k=10))  # noqa: S311


async def _report(client: httpx.AsyncClient, admin: str, **params: int) -> dict[str, object]:
    response = await client.get(NO_RESULTS, params=params, headers=bearer(admin))
    assert response.status_code == 200, response.text
    report: dict[str, object] = response.json()
    return report


async def _recorded(client: httpx.AsyncClient, admin: str, query: str, searches: int) -> None:
    """Wait (a few flushes at most) until the report lists `query` `searches` times."""
    for _ in range(50):
        report = await _report(client, admin, limit=100)
        listed = {entry["query"]: entry["searches"] for entry in report["queries"]}  # type: ignore[attr-defined]
        if listed.get(query) == searches:
            return
        await asyncio.sleep(FLUSH_SECONDS)
    raise AssertionError(f"{query!r} not recorded {searches} times: {listed}")


async def test_the_words_of_searches_that_found_nothing_are_listed_normalised(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    slug = await create_category(client, tokens.admin)
    found, missing, russian = _word(), _word(), "Пропавший " + _word()
    await create_product(client, tokens.admin, slug, name=f"{found} kettle")

    # Twice from the route, once from the page cache (same query string), once spelt
    # otherwise; a search that found something and a later page are not recorded.
    for text in (f"{missing}  Kettle", f"{missing}  Kettle", f" {missing.upper()} kettle "):
        assert (await client.get(SEARCH, params={"q": text})).json()["total"] == 0
    assert (await client.get(SEARCH, params={"q": russian.upper()})).json()["total"] == 0
    assert (await client.get(SEARCH, params={"q": found})).json()["total"] == 1
    # Filters without words find nothing too, but there are no words to list.
    assert (await client.get(SEARCH, params={"category": slug, "min_price": "99999"})).json()[
        "total"
    ] == 0

    await _recorded(client, tokens.admin, f"{missing.lower()} kettle", 3)
    await _recorded(client, tokens.admin, russian.lower(), 1)
    report = await _report(client, tokens.admin, days=2, limit=100)
    listed = [entry["query"] for entry in report["queries"]]  # type: ignore[attr-defined]
    assert not any(found.lower() in query for query in listed)
    assert report["since"] < report["until"]  # type: ignore[operator]


async def test_the_top_ten_are_a_gauge_and_the_words_in_no_other_series(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    # Searched more often than anything else the module searches, so it ranks first.
    leader = _word().lower()
    for _ in range(5):
        await client.get(SEARCH, params={"q": leader, "sort_by": "newest"})
    await _recorded(client, tokens.admin, leader, 5)
    for _ in range(50):
        exported = await scrape(client)
        top = {
            dict(labels)["rank"]: (dict(labels)["query"], value)
            for (name, labels), value in exported.samples.items()
            if name == "catalog_search_no_results_top"
        }
        if top.get("1") == (leader, 5.0):
            break
        await asyncio.sleep(FLUSH_SECONDS)
    assert top["1"] == (leader, 5.0)
    assert set(top) <= {str(rank) for rank in range(1, 11)}
    others = [key for key in exported.samples if key[0] != "catalog_search_no_results_top"]
    assert not any(leader in str(key) for key in others)
    assert exported.value("catalog_search_no_results_unrecorded_total", reason="redis_error") == 0


async def test_only_admins_read_it(client: httpx.AsyncClient, tokens: Tokens) -> None:
    assert_problem(await client.get(NO_RESULTS), 401)
    assert_problem(await client.get(NO_RESULTS, headers=bearer(tokens.user)), 403)


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"days": 0}, 422, "days"),
        ({"days": 32}, 422, "days"),
        ({"days": "week"}, 422, "days"),
        ({"limit": 0}, 422, "limit"),
        ({"limit": 101}, 422, "limit"),
        ({"days": 9}, 400, "kept 8 days: ask for 1 to 8"),
    ],
)
async def test_bad_parameters_are_problems_that_say_why(
    client: httpx.AsyncClient,
    tokens: Tokens,
    params: dict[str, int | str],
    status: int,
    words: str,
) -> None:
    response = await client.get(NO_RESULTS, params=params, headers=bearer(tokens.admin))
    body = assert_problem(response, status)
    assert words in response.text, body
