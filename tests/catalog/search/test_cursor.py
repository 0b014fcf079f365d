"""Cursors are opaque, checked, and bound to their query."""

from __future__ import annotations

import base64
import dataclasses
import json
from decimal import Decimal

import pytest

from productstore_catalog.search import InvalidCursor, SearchIndex, SearchQuery, SortBy
from tests.catalog.search.conftest import Indexes

BASE = SearchQuery(q="смартфоны", in_stock=True, sort_by=SortBy.price_asc, limit=5)


def _cursor(index: SearchIndex, query: SearchQuery = BASE) -> str:
    cursor = index.search(query).next_cursor
    assert cursor is not None
    return cursor


def _payload(cursor: str) -> dict[str, object]:
    payload = cursor.split(".", 1)[0]
    result: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return result


def _with_payload(cursor: str, payload: dict[str, object]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{body}.{cursor.split('.')[1]}"


@pytest.mark.parametrize(
    "other",
    [
        dataclasses.replace(BASE, q="смартфон"),
        dataclasses.replace(BASE, q=None),
        dataclasses.replace(BASE, in_stock=False),
        dataclasses.replace(BASE, in_stock=None),
        dataclasses.replace(BASE, category="smartphones"),
        dataclasses.replace(BASE, min_price=Decimal(1)),
        dataclasses.replace(BASE, min_rating=1.0),
        dataclasses.replace(BASE, sort_by=SortBy.price_desc),
        dataclasses.replace(BASE, sort_by=SortBy.relevance),
    ],
    ids=lambda q: repr(q)[12:60],
)
def test_a_cursor_is_bound_to_its_query(corpus: Indexes, other: SearchQuery) -> None:
    cursor = _cursor(corpus.index)
    with pytest.raises(InvalidCursor, match="different query"):
        corpus.index.search(dataclasses.replace(other, cursor=cursor))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: "",
        lambda c: "garbage",
        lambda c: "a.b.c",
        lambda c: c + "x",
        lambda c: "!" + c,
        lambda c: c.split(".")[0],
        lambda c: c.split(".")[0] + ".",
        lambda c: _with_payload(c, {**_payload(c), "k": 0.0}),
        lambda c: _with_payload(c, {**_payload(c), "id": "00000000-0000-0000-0000-000000000000"}),
        lambda c: c[:-3] + ("AAA" if not c.endswith("AAA") else "BBB"),
    ],
)
def test_a_malformed_or_altered_cursor_is_rejected(corpus: Indexes, mangle: object) -> None:
    cursor = mangle(_cursor(corpus.index))  # type: ignore[operator]
    with pytest.raises(InvalidCursor):
        corpus.index.search(dataclasses.replace(BASE, cursor=cursor))


def test_a_cursor_of_another_key_is_rejected(corpus: Indexes) -> None:
    other = SearchIndex(cursor_key=b"another replica's key")
    for product in corpus.products[:50]:
        other.upsert(product)
    cursor = _cursor(other, dataclasses.replace(BASE, q=None, in_stock=None))
    with pytest.raises(InvalidCursor):
        corpus.index.search(dataclasses.replace(BASE, q=None, in_stock=None, cursor=cursor))


def test_replicas_sharing_a_key_accept_each_others_cursors(corpus: Indexes) -> None:
    replica = SearchIndex()
    for product in reversed(corpus.products):
        replica.upsert(product)
    cursor = _cursor(corpus.index)
    assert replica.search(dataclasses.replace(BASE, cursor=cursor)) == corpus.index.search(
        dataclasses.replace(BASE, cursor=cursor)
    )


def test_the_cursor_is_url_safe_and_opaque(corpus: Indexes) -> None:
    cursor = _cursor(corpus.index)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_below_one_is_rejected(corpus: Indexes, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        corpus.index.search(SearchQuery(limit=limit))


def test_invalid_cursor_is_a_value_error() -> None:
    assert issubclass(InvalidCursor, ValueError)
