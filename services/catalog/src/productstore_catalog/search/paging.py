"""One page in a total order: the sort key, then the product id, after the cursor.

Keys are ascending everywhere (descending orders negate the value), so a page
is "the `limit` smallest (key, id) pairs greater than the cursor's". The
smallest are found with a partition (O(n)) and only those are fully sorted, so
a deep page costs what the first one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import numpy as np
import numpy.typing as npt

from productstore_catalog.search.columns import Columns, name_key
from productstore_catalog.search.cursor import Position, SortKey
from productstore_catalog.search.model import InvalidCursor, SortBy

_UINT64 = (1 << 64) - 1
# Unrated products sort after every rated one: rated keys are -rating <= 0.
_UNRATED_KEY = 1.0

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Page:
    slots: list[int]
    scores: list[float]  # relevance per slot, or 0.0 when there is none
    last_key: SortKey | None  # the last hit's key when more follow, else None


def _numeric_keys(
    columns: Columns, candidates: IntArray, relevance: FloatArray | None, sort_by: SortBy
) -> FloatArray:
    if sort_by is SortBy.relevance and relevance is not None:
        return -relevance
    if sort_by in (SortBy.relevance, SortBy.newest):
        return -columns.created[candidates]
    if sort_by is SortBy.price_asc:
        return columns.price[candidates]
    if sort_by is SortBy.price_desc:
        return -columns.price[candidates]
    ratings = columns.rating[candidates]
    return np.where(np.isnan(ratings), _UNRATED_KEY, -ratings)


def _id_after(columns: Columns, candidates: IntArray, product_id: UUID) -> npt.NDArray[np.bool_]:
    high, low = np.uint64(product_id.int >> 64), np.uint64(product_id.int & _UINT64)
    ids_high, ids_low = columns.id_high[candidates], columns.id_low[candidates]
    result: npt.NDArray[np.bool_] = (ids_high > high) | ((ids_high == high) & (ids_low > low))
    return result


def next_page(
    columns: Columns,
    candidates: IntArray,
    relevance: FloatArray | None,
    *,
    sort_by: SortBy,
    limit: int,
    position: Position | None,
) -> Page:
    if sort_by is SortBy.name:
        return _name_page(columns, candidates, limit, position)
    keys = _numeric_keys(columns, candidates, relevance, sort_by)
    scores = relevance if relevance is not None else np.zeros(len(candidates))
    if position is not None:
        if not isinstance(position.key, float | int):
            raise InvalidCursor("cursor does not fit this sort order")
        last = float(position.key)
        after = keys > last
        tied = np.flatnonzero(keys == last)  # usually few: compare their ids only
        if len(tied):
            after[tied] = _id_after(columns, candidates[tied], position.product_id)
        candidates, keys, scores = candidates[after], keys[after], scores[after]
    more = len(candidates) > limit
    if more:
        threshold = np.partition(keys, limit - 1)[limit - 1]
        smallest = keys <= threshold
        candidates, keys, scores = candidates[smallest], keys[smallest], scores[smallest]
    order = np.lexsort((columns.id_low[candidates], columns.id_high[candidates], keys))[:limit]
    return Page(
        slots=candidates[order].tolist(),
        scores=scores[order].tolist(),
        last_key=float(keys[order[-1]]) if more else None,
    )


def _lexicographic(
    keys: npt.NDArray[np.uint64], bound: list[int]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(rows greater than bound, rows equal to it), comparing the columns left to right."""
    greater = np.zeros(len(keys), dtype=np.bool_)
    equal = np.ones(len(keys), dtype=np.bool_)
    for i, word in enumerate(bound):
        column = keys[:, i]
        greater |= equal & (column > np.uint64(word))
        equal &= column == np.uint64(word)
    return greater, equal


def _name_page(
    columns: Columns, candidates: IntArray, limit: int, position: Position | None
) -> Page:
    # Most work looks at the first key word only (one contiguous column); the rest
    # of the key, and then the full name, only for candidates tied on it.
    first = columns.name_key[candidates, 0]
    names, ids = columns.sort_names, columns.ids
    if position is not None:
        if not isinstance(position.key, str):
            raise InvalidCursor("cursor does not fit this sort order")
        bound = name_key(position.key)
        after = first > np.uint64(bound[0])
        tied = np.flatnonzero(first == np.uint64(bound[0]))
        if len(tied):
            greater, equal = _lexicographic(columns.name_key[candidates[tied]], bound)
            after[tied] = greater
            last = (position.key, position.product_id.int)
            for i in tied[equal].tolist():
                slot = int(candidates[i])
                after[i] = (names[slot], ids[slot]) > last
        candidates, first = candidates[after], first[after]
    more = len(candidates) > limit
    if more:
        threshold = np.partition(first, limit - 1)[limit - 1]
        candidates = candidates[first <= threshold]
        keys = columns.name_key[candidates]
        cutoff = keys[np.lexsort(keys.T[::-1])[limit - 1]].tolist()
        beyond, _ = _lexicographic(keys, cutoff)
        candidates = candidates[~beyond]  # the first `limit` keys and all tied with the last
    ordered = sorted(candidates.tolist(), key=lambda slot: (names[slot], ids[slot]))[:limit]
    return Page(
        slots=ordered,
        scores=[0.0] * len(ordered),
        last_key=names[ordered[-1]] if more else None,
    )
