"""Rendered search pages by raw query string, for the index generation they were rendered on.

A search page depends only on the query (its cursor included) and the index: the
same query on an unchanged index gives the same bytes, and the same raw query
string parses to the same query, so a page found under it needs no validation.
That key is what the API received, so this cache is the API's: the read model
(services.reads) renders pages from parsed queries and tells the index's
`generation`, which grows with every change of the replica's index (a write
here, an event from the feed). Pages of an older generation are never served:
the first lookup after a change empties the cache, so a page is never older
than the index it would be computed from.

Store searches repeat a lot (the popular words, the category pages), so each
replica keeps the pages it rendered. A catalog written every second still serves
its popular pages from here between writes; one written more often than it is
searched gains nothing and loses nothing (one dict lookup a search).

Bounded by the bytes of the pages held (`max_bytes`; 0 turns it off), least
recently used first out. Every lookup is counted once, as a hit or a miss: a hit
by `cached` (the middleware that answers it), a miss by `render` (the route that
answers it after the middleware's miss).

Every search answered is also told to `on_search` with its kind (text, filters,
all: `SearchQuery.kind`, never its words) and whether it found anything, from
the page rendered or from what was kept with the cached page. Only first pages:
the next pages of a search (a cursor) are paging, not another search. A first
page with words that found nothing also tells its words to `on_no_results`
(services.no_results keeps them, off the request path, out of any label).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sized
from dataclasses import dataclass
from typing import Generic, TypeVar

from productstore_catalog.app.services.reads import CatalogReads
from productstore_catalog.search import SearchKind, SearchQuery

_Page = TypeVar("_Page", bound=Sized)


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """A search page's JSON and what it counts as when it is served again."""

    body: bytes
    kind: SearchKind | None  # None: a later page of a search, not counted as one
    found: bool  # the search matched at least one product
    # The words of a first page that found nothing (told to on_no_results each time).
    unmatched_words: str | None = None

    def __len__(self) -> int:
        return len(self.body)


class PageCache(Generic[_Page]):
    """Pages by key, bounded by their sizes (`len`, bytes), least recently used first out."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Hashable, _Page] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._pages)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable) -> _Page | None:
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, key: Hashable, page: _Page) -> None:
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
        if self._pages:
            self._pages.clear()
            self._bytes = 0


class SearchPages:
    """The search pages of `reads`, by the raw query string each was asked with."""

    def __init__(
        self,
        reads: CatalogReads,
        *,
        max_bytes: int,
        on_lookup: Callable[[bool], None] = lambda found: None,
        on_search: Callable[[SearchKind, bool], None] = lambda kind, found: None,
        on_no_results: Callable[[str], None] = lambda words: None,
    ) -> None:
        self._reads = reads
        self.pages: PageCache[RenderedPage] = PageCache(max_bytes)
        self._generation = reads.generation
        self._on_lookup = on_lookup
        self._on_search = on_search
        self._on_no_results = on_no_results

    def cached(self, query_string: bytes) -> bytes | None:
        """The page rendered for `query_string` on the index as it is; a hit is
        counted, a miss is counted by `render`, which answers it."""
        page = self._fresh().get(query_string)
        if page is None:
            return None
        self._on_lookup(True)
        self._counted(page)
        return page.body

    def render(self, query_string: bytes, query: SearchQuery) -> bytes:
        """The page of `query`, parsed from `query_string`, after `cached` had none:
        counted as a miss, rendered by the read model and kept for its generation.
        Raises InvalidCursor for a bad cursor (not counted as a search)."""
        self._on_lookup(False)
        generation, body, total = self._reads.search_page(query)
        first = query.cursor is None
        unmatched = query.q if first and query.q and total == 0 else None
        page = RenderedPage(body, query.kind if first else None, total > 0, unmatched)
        self._counted(page)
        pages = self._fresh()
        if generation == self._generation:  # the index did not change since
            pages.put(query_string, page)
        return body

    def _counted(self, page: RenderedPage) -> None:
        if page.kind is not None:
            self._on_search(page.kind, page.found)
        if page.unmatched_words is not None:
            self._on_no_results(page.unmatched_words)

    def _fresh(self) -> PageCache[RenderedPage]:
        """The pages, emptied first if the index changed since they were rendered."""
        generation = self._reads.generation
        if generation != self._generation:
            self.pages.clear()
            self._generation = generation
        return self.pages
