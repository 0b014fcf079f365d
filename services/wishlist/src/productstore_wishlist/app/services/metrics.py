"""Business metrics of the wishlist service, named for the people who read them."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Histogram

from productstore_common.telemetry.metrics import AppMetrics


@dataclass(frozen=True)
class WishlistMetrics:
    notices: Counter
    suppressed: Counter
    fanout_seconds: Histogram

    @classmethod
    def of(cls, metrics: AppMetrics) -> WishlistMetrics:
        return cls(
            notices=metrics.counter(
                "wishlist_notices_total",
                "Notices published to owners and followers, by kind (price_drop, back_in_stock).",
                ("kind",),
            ),
            suppressed=metrics.counter(
                "wishlist_notices_suppressed_total",
                "Notices not sent because the user was already told about the product that "
                "day, by kind.",
                ("kind",),
            ),
            fanout_seconds=metrics.histogram(
                "wishlist_fanout_seconds",
                "How long one price drop's or one back-in-stock wave's fan-out took.",
                ("kind",),
                buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            ),
        )
