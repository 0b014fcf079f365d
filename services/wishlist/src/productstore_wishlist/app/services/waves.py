"""The periodic check for due back-in-stock waves (a wave whose product's stock did
not change since the previous one would otherwise wait for the next stock event)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from productstore_common.events.background import BackgroundLoop
from productstore_wishlist.app.services.notices import Notices

_logger = logging.getLogger(__name__)


class WaveTicker(BackgroundLoop):
    def __init__(self, notices: Notices, *, every: float) -> None:
        super().__init__(task_name="wishlist-waves", stop_timeout=10.0)
        self.notices = notices
        self.every = every

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.notices.due_waves()
            except Exception:
                # Cassandra away, say: the next tick tries again.
                _logger.warning("back-in-stock waves not checked", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.every)
