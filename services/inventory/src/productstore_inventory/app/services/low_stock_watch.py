"""How many products are below their low-stock threshold now, and since when: the
low-stock backlog, for the LowStockBacklog alert (LowStock events say when a product
crosses; these gauges say what is still waiting for a reorder)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from productstore_common.events.background import BackgroundLoop
from productstore_common.events.backoff import sleep_unless
from productstore_inventory.app.services.metrics import InventoryMetrics
from productstore_inventory.app.services.stock import StockLevels

_logger = logging.getLogger(__name__)

# The low-stock list is one Cassandra partition; this many rows is a store in real
# trouble already, and the gauge then says "at least" this many.
MAX_COUNTED = 10_000


class LowStockWatch(BackgroundLoop):
    """Every interval, on every replica (they all read the same list): the gauges
    `inventory_low_stock_products` and `inventory_low_stock_oldest_seconds`."""

    def __init__(
        self, levels: StockLevels, metrics: InventoryMetrics, *, interval_seconds: float
    ) -> None:
        super().__init__(task_name="inventory-low-stock-watch", stop_timeout=10.0)
        self.levels = levels
        self.metrics = metrics
        self.interval_seconds = interval_seconds

    async def watch_once(self) -> tuple[int, float]:
        """Read the list, set the gauges; (products low, seconds the oldest has been)."""
        rows = await self.levels.low_stock(MAX_COUNTED)
        now = datetime.now(UTC)
        oldest = max(((now - row.since).total_seconds() for row in rows), default=0.0)
        self.metrics.low_stock_products.set(len(rows))
        self.metrics.low_stock_oldest_seconds.set(max(oldest, 0.0))
        return len(rows), oldest

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.watch_once()
            except Exception:
                # Cassandra away: the gauges keep their last values until it answers.
                _logger.warning("reading the low-stock list failed; retrying", exc_info=True)
            await sleep_unless(self._stop, self.interval_seconds)
