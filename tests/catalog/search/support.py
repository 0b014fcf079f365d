"""Helpers shared by the search tests."""

from __future__ import annotations

import dataclasses
from itertools import pairwise
from uuid import UUID

from productstore_catalog.search import SearchHit, SearchIndex, SearchQuery

EVERYTHING = 10**6


def all_hits(index: SearchIndex, query: SearchQuery) -> list[SearchHit]:
    """Every hit in one page."""
    return index.search(dataclasses.replace(query, limit=EVERYTHING, cursor=None)).hits


def walk(index: SearchIndex, query: SearchQuery, limit: int) -> list[SearchHit]:
    """Every hit, page by page, following the cursors (bounded)."""
    hits: list[SearchHit] = []
    cursor: str | None = None
    for _ in range(EVERYTHING):
        page = index.search(dataclasses.replace(query, limit=limit, cursor=cursor))
        assert len(page.hits) <= limit
        hits.extend(page.hits)
        cursor = page.next_cursor
        if cursor is None:
            return hits
        assert page.hits, "a page with a next cursor must not be empty"
    raise AssertionError("pagination did not end")


def assert_matches_reference(
    hits: list[SearchHit], expected: list[tuple[UUID, float | None]]
) -> None:
    """Same products; for relevance, the same scores up to float noise and an order
    the reference agrees with; otherwise exactly the reference's order."""
    assert {h.id for h in hits} == {i for i, _ in expected}
    assert len(hits) == len(expected)
    reference = dict(expected)
    if not expected or next(iter(reference.values())) is None:
        assert all(h.score is None for h in hits)
        assert [h.id for h in hits] == [i for i, _ in expected]
        return
    scores: dict[UUID, float] = {}
    for hit in hits:
        want = reference[hit.id]
        assert hit.score is not None
        assert want is not None
        assert abs(hit.score - want) <= 1e-9, (hit, want)
        scores[hit.id] = want
    # total order of the index: score descending, then id
    assert [h.id for h in hits] == [
        h.id for h in sorted(hits, key=lambda h: (-(h.score or 0.0), h.id))
    ]
    for before, after in pairwise(hits):
        assert scores[before.id] >= scores[after.id] - 1e-9
