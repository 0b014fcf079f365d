"""Business metrics of the inventory, named for the people who read them."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from productstore_common.telemetry.metrics import AppMetrics


@dataclass(frozen=True)
class InventoryMetrics:
    reservations: Counter
    conflicts: Counter
    cas_unknown: Counter
    holds_expired: Counter
    stock_outs: Counter
    commits: Counter
    low_stock: Counter
    low_stock_products: Gauge
    low_stock_oldest_seconds: Gauge

    @classmethod
    def of(cls, metrics: AppMetrics) -> InventoryMetrics:
        found = cls(
            reservations=metrics.counter(
                "inventory_reservations_total",
                "Orders whose reservation was decided, by outcome (reserved, shortfall).",
                ("outcome",),
            ),
            conflicts=metrics.counter(
                "inventory_reservation_conflicts_total",
                "Stock writes that lost a compare-and-set to another writer and were retried.",
            ),
            cas_unknown=metrics.counter(
                "inventory_cas_outcome_unknown_total",
                "Stock writes that timed out and were resolved by a read at SERIAL.",
            ),
            holds_expired=metrics.counter(
                "inventory_holds_expired_total",
                "Orders whose unpaid holds expired and were released, by who noticed "
                "(sweeper, lazy: a reservation or payment that met them).",
                ("how",),
            ),
            stock_outs=metrics.counter(
                "inventory_stock_outs_total",
                "Times a product's available stock reached zero.",
            ),
            commits=metrics.counter(
                "inventory_commits_total",
                "Payments applied to holds, by outcome (committed, refused: refund the order).",
                ("outcome",),
            ),
            low_stock=metrics.counter(
                "inventory_low_stock_crossings_total",
                "Times a product's available stock crossed its low-stock threshold, by "
                "direction (low: fell to it, back_in_stock: rose above it).",
                ("direction",),
            ),
            low_stock_products=metrics.gauge(
                "inventory_low_stock_products",
                "Products whose available stock is at or below their low-stock threshold now "
                "(the low-stock list; at most 10,000 are counted).",
            ),
            low_stock_oldest_seconds=metrics.gauge(
                "inventory_low_stock_oldest_seconds",
                "How long the product longest on the low-stock list has been there "
                "(0 when the list is empty).",
            ),
        )
        # Every outcome exists from the start, at 0: a rate is 0 rather than absent.
        for counter, values in (
            (found.reservations, ("reserved", "shortfall")),
            (found.holds_expired, ("sweeper", "lazy")),
            (found.commits, ("committed", "refused")),
            (found.low_stock, ("low", "back_in_stock")),
        ):
            for value in values:
                counter.labels(value)
        return found
