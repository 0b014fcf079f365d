"""Which searches find nothing: recorded off the request path, shown as a bounded top.

A search that found nothing (a first page with words) is told to `NoResultSearches.
saw`, which only counts it in memory: a search never waits for Redis and never
fails because of it. Every `flush_seconds` the counts go to the day's set in Redis
(data.no_results) in one transaction; if Redis is down they are dropped and counted
(`catalog_search_no_results_unrecorded_total{reason="redis_error"}`), and searches
go on. Between flushes at most `buffer_limit` distinct texts are held; the searches
of further new texts are counted as `reason="buffer_full"` and not kept.

Every `refresh_seconds` the top `TOP_RANKS` texts over the current and the previous
UTC day are read back into the gauge `catalog_search_no_results_top{rank, query}`:
the words become a label only there, at most ten series per replica at any time
(a text that leaves the top leaves the exposition, so Prometheus marks it stale).
Every replica reads the same Redis and exports the same ten; the dashboard takes
the maximum over replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Final, Literal

from productstore_catalog.app.data.no_results import NoResultLog, NoResultLogError, normalize_query
from productstore_common.telemetry.metrics import AppMetrics

_logger = logging.getLogger(__name__)

TOP_RANKS: Final = 10
# The gauge's window: today and yesterday (UTC), so it does not empty at midnight.
TOP_DAYS: Final = 2

UnrecordedReason = Literal["redis_error", "buffer_full"]
UNRECORDED_REASONS: Final[tuple[UnrecordedReason, ...]] = ("redis_error", "buffer_full")


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class NoResultSearches:
    """Counts searches without results in memory and flushes them to `log`."""

    def __init__(
        self,
        log: NoResultLog,
        metrics: AppMetrics,
        *,
        flush_seconds: float,
        refresh_seconds: float,
        buffer_limit: int,
        today: Callable[[], dt.date] = utc_today,
    ) -> None:
        self.log = log
        self._flush_seconds = flush_seconds
        self._refresh_seconds = refresh_seconds
        self._buffer_limit = buffer_limit
        self.today = today
        self._pending: Counter[str] = Counter()
        unrecorded = metrics.counter(
            "catalog_search_no_results_unrecorded_total",
            "Searches without results whose words were not recorded, by reason "
            "(redis_error: Redis failed the flush; buffer_full: too many distinct texts "
            "between two flushes).",
            ("reason",),
        )
        self._unrecorded = {reason: unrecorded.labels(reason) for reason in UNRECORDED_REASONS}
        self._top = metrics.gauge(
            "catalog_search_no_results_top",
            f"The {TOP_RANKS} searches (normalised words) that most often found nothing over "
            "the current and the previous UTC day, by rank (1 is the most) and query; the "
            "value is how many searches. Refreshed from Redis periodically.",
            ("rank", "query"),
        )
        self._refresh_errors = metrics.counter(
            "catalog_search_no_results_top_refresh_errors_total",
            "Refreshes of catalog_search_no_results_top that failed (Redis); the gauge keeps "
            "its last values.",
        )

    def saw(self, text: str) -> None:
        """A search for `text` found nothing: counted in memory, never blocks or fails."""
        normalized = normalize_query(text)
        if not normalized:
            return
        if normalized not in self._pending and len(self._pending) >= self._buffer_limit:
            self._unrecorded["buffer_full"].inc()
            return
        self._pending[normalized] += 1

    async def flush(self) -> bool:
        """Move what was counted to today's set in Redis; False (the counts dropped and
        counted as unrecorded) when Redis failed."""
        pending, self._pending = self._pending, Counter()
        try:
            await self.log.add(pending, self.today())
        except NoResultLogError as exc:
            self._unrecorded["redis_error"].inc(pending.total())
            _logger.warning("searches without results not recorded (%d): %s", pending.total(), exc)
            return False
        return True

    async def refresh(self) -> bool:
        """Read the top back into the gauge; False (gauge unchanged) when Redis failed."""
        try:
            top = await self.log.top(days=TOP_DAYS, limit=TOP_RANKS, today=self.today())
        except NoResultLogError as exc:
            self._refresh_errors.inc()
            _logger.warning("no-result top not refreshed: %s", exc)
            return False
        # No await between clearing and setting: a scrape sees the old ten or the new.
        self._top.clear()
        for rank, (text, count) in enumerate(top, start=1):
            self._top.labels(str(rank), text).set(count)
        return True

    @asynccontextmanager
    async def running(self) -> AsyncIterator[NoResultSearches]:
        """Flush and refresh periodically until exit; a last flush at exit."""
        await self.refresh()  # a replica that starts shows the top at once
        tasks = [
            asyncio.create_task(self._every(self._flush_seconds, self.flush), name="no-results"),
            asyncio.create_task(
                self._every(self._refresh_seconds, self.refresh), name="no-results-top"
            ),
        ]
        try:
            yield self
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.flush()

    @staticmethod
    async def _every(seconds: float, step: Callable[[], Awaitable[bool]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await step()
            except Exception:
                # A bug must not end the loop for the rest of the process's life.
                _logger.exception("searches without results: %s failed", step)
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # Cancelled during the step, which swallowed it (a Redis call turns a
                # cancellation inside its timeout into an error the step handles): the
                # loop must still end, or the app's shutdown waits for it forever.
                raise asyncio.CancelledError
