"""Searches and searches that found nothing, counted by kind on /metrics: the route's
answers and the page cache's alike, first pages only, never a refused query."""

from __future__ import annotations

import random
import string

import httpx
import pytest

from productstore_catalog.search import SEARCH_KINDS
from tests.catalog.support import Tokens, create_category, create_product
from tests.support.metrics import scrape

pytestmark = pytest.mark.anyio

SEARCH = "/api/products/search"


def _word() -> str:
    # Letters only: one word to the analyser, found in no other product.
    return "Quox" + "".join(random.choices(string.ascii_lowercase, k=10))  # noqa: S311


async def _search(client: httpx.AsyncClient, **params: str | int) -> dict[str, object]:
    response = await client.get(SEARCH, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, object] = response.json()
    return page


async def test_every_kind_is_exported_from_the_start(client: httpx.AsyncClient) -> None:
    exported = await scrape(client)
    for kind in SEARCH_KINDS:
        assert exported.value("catalog_searches_total", kind=kind) is not None
        assert exported.value("catalog_searches_no_results_total", kind=kind) is not None


async def test_searches_are_counted_by_kind_and_empty_ones_apart(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    slug = await create_category(client, tokens.admin)
    word = _word()
    for _ in range(2):
        await create_product(client, tokens.admin, slug, name=f"{word} kettle")
    before = await scrape(client)

    # text: found twice (the second from the page cache), nothing found twice.
    for _ in range(2):
        assert (await _search(client, q=word))["total"] == 2
        assert (await _search(client, q=_word()))["total"] == 0
    # filters: the category's first page, then its second page (paging: not counted).
    first = await _search(client, category=slug, limit=1)
    assert first["total"] == 2 and isinstance(first["next_cursor"], str)
    await _search(client, category=slug, limit=1, cursor=first["next_cursor"])
    assert (await _search(client, category=slug, min_price="100000"))["total"] == 0
    # all: neither words nor filters.
    await _search(client, sort_by="newest")
    # Refused queries are no searches.
    refused = await client.get(SEARCH, params={"q": word, "cursor": "not-a-cursor"})
    assert refused.status_code == 400
    assert (
        await client.get(SEARCH, params={"min_price": "5", "max_price": "1"})
    ).status_code == 400
    after = await scrape(client)

    def grew(name: str, kind: str) -> float:
        return after.grew(before, name, kind=kind)

    assert [grew("catalog_searches_total", kind) for kind in SEARCH_KINDS] == [4, 2, 1]
    assert [grew("catalog_searches_no_results_total", kind) for kind in SEARCH_KINDS] == [2, 1, 0]
    # The words searched are in no label.
    assert not any(word in str(key) for key in after.samples if key not in before.samples)


async def test_the_counters_tell_cache_hits_as_the_route_told_them(
    client: httpx.AsyncClient,
) -> None:
    query = {"q": _word(), "in_stock": "true"}
    before = await scrape(client)
    await _search(client, **query)
    middle = await scrape(client)
    await _search(client, **query)
    after = await scrape(client)
    lookups = "catalog_search_page_cache_lookups_total"
    # The first search was rendered, the second came from the cache; both were empty.
    assert middle.grew(before, lookups, outcome="miss") == 1
    assert after.grew(middle, lookups, outcome="hit") == 1
    for later, earlier in ((middle, before), (after, middle)):
        assert later.grew(earlier, "catalog_searches_no_results_total", kind="text") == 1
