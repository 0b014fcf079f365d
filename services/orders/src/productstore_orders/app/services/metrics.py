"""Business metrics of orders, named for the people who read them."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Histogram

from productstore_common.telemetry.metrics import AppMetrics

# From a few milliseconds (an API call) to minutes (a payment retried, an expiry).
# orders_cancelled_total's reasons (a closed set: the label is bounded).
CANCEL_REASONS = ("customer", "admin", "payment_failed", "rejected", "expired", "stock_expired")
_STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


@dataclass(frozen=True)
class OrderMetrics:
    placed: Counter
    paid: Counter
    cancelled: Counter
    outcomes: Counter
    revenue: Counter
    refunded: Counter
    stage_seconds: Histogram

    @classmethod
    def of(cls, metrics: AppMetrics) -> OrderMetrics:
        found = cls(
            placed=metrics.counter(
                "orders_placed_total",
                "Checkouts accepted (orders created), by currency.",
                ("currency",),
            ),
            paid=metrics.counter(
                "orders_paid_total",
                "Orders whose payment was authorised, by currency.",
                ("currency",),
            ),
            cancelled=metrics.counter(
                "orders_cancelled_total",
                "Orders that ended unsold, by reason (customer, admin, payment_failed, "
                "rejected, expired, stock_expired).",
                ("reason",),
            ),
            outcomes=metrics.counter(
                "orders_transitions_total",
                "Order status changes, by the status reached.",
                ("status",),
            ),
            revenue=metrics.counter(
                "orders_revenue_total",
                "Money of paid orders in the currency's major unit (refunds not deducted: "
                "see orders_refunded_total), by currency.",
                ("currency",),
            ),
            refunded=metrics.counter(
                "orders_refunded_total",
                "Money given back for captured orders that were cancelled, by currency.",
                ("currency",),
            ),
            stage_seconds=metrics.histogram(
                "orders_checkout_stage_seconds",
                "Checkout latency by stage: accept (POST /api/orders), reserve (placed to "
                "reserved or rejected), pay (reserved to paid or failed), total (placed to paid).",
                ("stage",),
                buckets=_STAGE_BUCKETS,
            ),
        )
        # Every reason exists from the start, at 0: a rate is 0 rather than absent.
        for reason in CANCEL_REASONS:
            found.cancelled.labels(reason)
        return found
