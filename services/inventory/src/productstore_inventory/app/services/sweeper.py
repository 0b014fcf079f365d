"""The sweeper: releases holds that expired unpaid, every few seconds, on every replica
(the LWT on each order makes replicas sweeping together safe)."""

from __future__ import annotations

import logging

from productstore_common.events.background import BackgroundLoop
from productstore_common.events.backoff import sleep_unless
from productstore_inventory.app.services.reservations import Reservations

_logger = logging.getLogger(__name__)


class Sweeper(BackgroundLoop):
    def __init__(
        self, reservations: Reservations, *, interval_seconds: float, lookback_seconds: int
    ) -> None:
        super().__init__(task_name="inventory-sweeper", stop_timeout=10.0)
        self.reservations = reservations
        self.interval_seconds = interval_seconds
        self._next = reservations.first_sweep_bucket(lookback_seconds)

    async def sweep_once(self) -> int:
        expired, self._next = await self.reservations.sweep(self._next)
        return expired

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                expired = await self.sweep_once()
                if expired:
                    _logger.info("released the holds of %d expired orders", expired)
            except Exception:
                # Cassandra away: the next pass starts where this one could not finish.
                _logger.warning("hold sweep failed; retrying", exc_info=True)
            await sleep_unless(self._stop, self.interval_seconds)
