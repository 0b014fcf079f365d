"""Business metrics of orders, named for the people who read them."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Histogram

from productstore_common.telemetry.metrics import AppMetrics

# From a few milliseconds (an API call) to minutes (a payment retried, an expiry).
# orders_cancelled_total's reasons (a closed set: the label is bounded).
CANCEL_REASONS = ("customer", "admin", "payment_failed", "rejected", "expired", "stock_expired")
# orders_cart_changes_total's changes and orders_funnel_total's stages (closed sets).
CART_CHANGES = ("added", "updated", "removed", "cleared")
FUNNEL_STAGES = ("cart", "checkout_started", "placed", "paid")
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
    cart_changes: Counter
    funnel: Counter

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
            cart_changes=metrics.counter(
                "orders_cart_changes_total",
                "Cart changes by the user, by change (added: a product put in the cart; "
                "updated: its quantity changed; removed: taken out; cleared: the cart emptied).",
                ("change",),
            ),
            funnel=metrics.counter(
                "orders_funnel_total",
                "The conversion funnel, by stage reached (cart: a first item put in an empty "
                "cart; checkout_started: a checkout asked for, replays of an Idempotency-Key "
                "not counted again; placed: an order created; paid: its payment authorised).",
                ("stage",),
            ),
        )
        # Every label exists from the start, at 0: a rate is 0 rather than absent.
        for counter, values in (
            (found.cancelled, CANCEL_REASONS),
            (found.cart_changes, CART_CHANGES),
            (found.funnel, FUNNEL_STAGES),
        ):
            for value in values:
                counter.labels(value)
        return found
