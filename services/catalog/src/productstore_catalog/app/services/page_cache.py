"""Rendered search pages of the index as it is now, least recently used first out.

A search page depends only on the query (its cursor included) and the index: the
same query on an unchanged index gives the same bytes. Store searches repeat a
lot (the popular words, the category pages), so each replica keeps the pages it
rendered, and every change of its index (a write here, an event from the feed)
empties the cache: a page is never older than the index it would be computed
from. A catalog written every second still serves its popular pages from here
between writes; one written more often than it is searched gains nothing and
loses nothing (one dict lookup a search).

Bounded by the bytes of the pages held (`max_bytes`; 0 turns it off).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class PageCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._pages)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable) -> bytes | None:
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, key: Hashable, page: bytes) -> None:
        size = len(page)
        if size > self.max_bytes:
            return
        previous = self._pages.pop(key, None)
        if previous is not None:
            self._bytes -= len(previous)
        self._pages[key] = page
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, dropped = self._pages.popitem(last=False)
            self._bytes -= len(dropped)

    def clear(self) -> None:
        """The index changed: every page held may be wrong now."""
        if self._pages:
            self._pages.clear()
            self._bytes = 0
