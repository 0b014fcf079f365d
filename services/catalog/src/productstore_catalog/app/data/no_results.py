"""Searches that found nothing, by their words, in Redis: one sorted set per UTC day.

`<prefix>:search:no-results:<YYYY-MM-DD>` holds normalised query text -> how many
searches for it found nothing that day (ZINCRBY). The words are the users' text
and their set is open, so they live here and never in a metric label; what the
dashboard shows is the top few, read back from here (services.no_results).

Memory is bounded whatever people type: a text is cut to `MAX_QUERY_LENGTH`
characters, each day keeps only its `kept` highest counts (every write trims the
set; among equal counts Redis drops the lexicographically first, so a flood of
distinct one-off texts churns the tail while the repeated ones stay), and each
day's set expires `retention_days` after it was last written. So a catalog keeps
at most `kept x retention_days` texts of at most 64 characters.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping

import redis.asyncio as redis
from redis.exceptions import RedisError

MAX_QUERY_LENGTH = 64

_SPACES = re.compile(r"\s+")
# Control and format characters (C0, C1, bidi controls, zero-width ones): invisible,
# and a table of what people searched for should show what they could have typed.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def normalize_query(text: str) -> str:
    """How a search's words are recorded: NFKC, case-folded (in any script: "ПОИСК"
    and "поиск", "STRASSE" and "Straße" are one), invisible characters dropped,
    whitespace collapsed to single spaces, cut to MAX_QUERY_LENGTH characters.
    Empty when nothing visible is left."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    visible = "".join(
        char if unicodedata.category(char) not in _INVISIBLE else " " for char in folded
    )
    collapsed = _SPACES.sub(" ", visible).strip()
    return collapsed[:MAX_QUERY_LENGTH].rstrip()


class NoResultLogError(Exception):
    """Redis failed a read or write of the log (raised from the RedisError, so a
    route that lets it escape answers 503 dependency_unavailable, as for Redis)."""


class NoResultLog:
    """The per-day sorted sets of searches without results (see the module)."""

    def __init__(self, client: redis.Redis, *, prefix: str, kept: int, retention_days: int) -> None:
        self._client = client
        self._prefix = prefix
        self.kept = kept
        self.retention_days = retention_days

    def key(self, day: dt.date) -> str:
        return f"{self._prefix}:search:no-results:{day.isoformat()}"

    async def add(self, counts: Mapping[str, int], day: dt.date) -> None:
        """Add `counts` (normalised text -> searches) to `day`'s set, trim it to the
        `kept` highest and renew its expiry, in one transaction. Raises NoResultLogError."""
        if not counts:
            return
        key = self.key(day)
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                for text, count in counts.items():
                    pipe.zincrby(key, count, text)
                # Ranks ascend by count: drop all but the last `kept`.
                pipe.zremrangebyrank(key, 0, -(self.kept + 1))
                pipe.expire(key, dt.timedelta(days=self.retention_days))
                await pipe.execute()
        except RedisError as exc:
            raise NoResultLogError(f"recording searches without results failed: {exc}") from exc

    async def top(self, *, days: int, limit: int, today: dt.date) -> list[tuple[str, int]]:
        """The `limit` texts found nothing most often over `days` UTC days up to and
        including `today`, with their counts, most first (ties by text). Each day
        contributes its kept texts only, so a text trimmed from one day counts the
        days it stayed in. Raises NoResultLogError."""
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for back in range(days):
                    # The whole kept set: a text outside one day's top can lead the sum.
                    date = today - dt.timedelta(days=back)
                    pipe.zrange(self.key(date), 0, -1, withscores=True)
                answers: list[list[tuple[bytes | str, float]]] = await pipe.execute()
        except RedisError as exc:
            raise NoResultLogError(f"reading searches without results failed: {exc}") from exc
        totals: Counter[str] = Counter()
        for day in answers:
            for text, score in day:
                totals[text.decode("utf-8") if isinstance(text, bytes) else text] += int(score)
        return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]
