"""The search page cache: bounded by bytes, least recently used out first, emptied by
clear() (PageCache); pages of an older index generation are never served, and each
lookup is counted once (SearchPages, on the catalog app)."""

from __future__ import annotations

from productstore_catalog.app.api.search_pages import PageCache


def test_a_page_put_is_got() -> None:
    cache: PageCache[bytes] = PageCache(100)
    assert cache.get("a") is None
    cache.put("a", b"page a")
    assert cache.get("a") == b"page a"


def test_the_least_recently_used_page_goes_first() -> None:
    cache: PageCache[bytes] = PageCache(30)
    cache.put("a", b"x" * 10)
    cache.put("b", b"x" * 10)
    cache.put("c", b"x" * 10)
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("d", b"x" * 10)  # 40 bytes > 30: b goes
    assert cache.get("b") is None
    assert [cache.get(key) is not None for key in ("a", "c", "d")] == [True, True, True]
    assert cache.size_bytes == 30


def test_replacing_a_page_counts_its_bytes_once() -> None:
    cache: PageCache[bytes] = PageCache(30)
    cache.put("a", b"x" * 20)
    cache.put("a", b"y" * 25)
    assert cache.size_bytes == 25
    assert len(cache) == 1
    assert cache.get("a") == b"y" * 25


def test_a_page_larger_than_the_cache_is_not_kept() -> None:
    cache: PageCache[bytes] = PageCache(10)
    cache.put("small", b"x" * 5)
    cache.put("huge", b"x" * 11)
    assert cache.get("huge") is None
    assert cache.get("small") == b"x" * 5


def test_zero_bytes_keeps_nothing() -> None:
    cache: PageCache[bytes] = PageCache(0)
    cache.put("a", b"page")
    assert cache.get("a") is None
    assert len(cache) == 0


def test_clear_empties_it() -> None:
    cache: PageCache[bytes] = PageCache(100)
    cache.put("a", b"page")
    cache.clear()
    assert cache.get("a") is None
    assert (len(cache), cache.size_bytes) == (0, 0)
