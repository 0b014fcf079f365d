"""The stock feed's fan-out without Kafka: positions as SSE ids, resuming from the kept
events, the reset when they do not reach back, the per-replica cap, and a full queue
dropping its stream (the HTTP side: tests/inventory/api/test_stream_api.py)."""

from __future__ import annotations

import pytest

from productstore_inventory.app.services.stream import (
    BadCursorError,
    FeedItem,
    StreamsFullError,
    decode_cursor,
    encode_cursor,
)
from tests.inventory.support import stock_feed


def _item(partition: int, offset: int) -> FeedItem:
    return FeedItem(partition, offset, f"{partition}:{offset + 1}", "StockChanged", "{}")


def test_cursors_round_trip_and_refuse_what_is_not_ours() -> None:
    assert encode_cursor({2: 9, 0: 4}) == "0:4,2:9"
    assert decode_cursor("0:4,2:9") == {0: 4, 2: 9}
    for bad in ("", "yesterday", "0:4,", "0:-1", "a:1", "1:2:3"):
        with pytest.raises(BadCursorError):
            decode_cursor(bad)


def test_a_resuming_stream_gets_what_followed_its_position() -> None:
    feed = stock_feed()
    for offset in range(3):
        feed.publish(_item(0, offset))
    resumed = feed.subscribe("0:1")  # had offset 0; 1 and 2 follow
    assert [resumed.queue.get_nowait().offset for _ in range(resumed.queue.qsize())] == [1, 2]
    assert not resumed.gap
    feed.publish(_item(0, 3))
    assert resumed.queue.get_nowait().offset == 3


def test_a_position_before_the_kept_events_is_a_gap() -> None:
    feed = stock_feed(replay_size=2)
    for offset in range(4):  # offsets 0 and 1 are evicted
        feed.publish(_item(0, offset))
    assert [item.offset for item in feed.recent] == [2, 3]
    assert feed.subscribe("0:1").gap
    assert not feed.subscribe("0:2").gap


def test_more_to_replay_than_a_queue_holds_is_a_gap_too() -> None:
    feed = stock_feed(queue_size=2, replay_size=10)
    for offset in range(5):
        feed.publish(_item(0, offset))
    resumed = feed.subscribe("0:0")
    assert resumed.gap
    assert resumed.queue.empty()  # the client re-reads the stock instead


def test_a_full_queue_drops_its_stream_and_only_that_one() -> None:
    feed = stock_feed(queue_size=2)
    slow, fast = feed.subscribe(None), feed.subscribe(None)
    for offset in range(3):
        feed.publish(_item(0, offset))
        fast.queue.get_nowait()
    assert slow.dropped.is_set()
    assert not fast.dropped.is_set()
    assert feed.open_streams == 1


def test_the_cap_counts_open_streams() -> None:
    feed = stock_feed(max_streams=2)
    first = feed.subscribe(None)
    feed.subscribe(None)
    with pytest.raises(StreamsFullError):
        feed.subscribe(None)
    feed.unsubscribe(first)
    feed.subscribe(None)
    feed.close_all()
    assert feed.open_streams == 0
