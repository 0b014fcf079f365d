"""The order state machine: every change of status is a compare-and-set, and what a
change must do after (events, payment calls, the cart) is keyed by the order so that
doing it twice does it once.

    pending ─StockReserved→ reserved ─authorised→ paid ─fulfil→ fulfilled ─deliver→ delivered
       │                       │  └─declined→ payment_failed
       └─StockShortfall→ rejected  └─hold released unpaid→ expired
    pending, reserved, paid (customer; admins also fulfilled) ─cancel→ cancelled

A transition that finds the order already in its target status (a redelivered
event, a retried request, a crash between the compare-and-set and its events)
repeats the follow-up: its events have ids derived from the order and the
transition, so consumers drop the copy, and payment calls carry idempotency keys
derived the same way.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from productstore_common.events import CloudEvent, new_event
from productstore_common.payments import (
    PaymentDeclined,
    PaymentProvider,
    PaymentRefused,
    PaymentStatus,
    idempotency_key,
)
from productstore_contracts.events import EventPayload
from productstore_contracts.events.inventory import (
    StockCommitRefused,
    StockReleased,
    StockReserved,
    StockShortfall,
)
from productstore_contracts.events.orders import (
    ORDERS_SOURCE,
    CancelReason,
    OrderCancelled,
    OrderDelivered,
    OrderExpired,
    OrderFulfilled,
    OrderLine,
    OrderPaid,
    OrderReserved,
)
from productstore_orders.app.core import errors
from productstore_orders.app.data.carts import CartStore
from productstore_orders.app.data.orders import OrderRecord, OrderStore, ShortRecord
from productstore_orders.app.services.metrics import OrderMetrics

_logger = logging.getLogger(__name__)

# Event ids are derived from the order and the fact, so a fact announced twice is one event.
_EVENT_IDS = uuid.UUID("5f0c6c1e-7d0e-4f59-9d43-6f2b8a1d0c11")

# Who may cancel from where: customers before fulfilment, admins any time before the end.
CUSTOMER_CANCELLABLE = frozenset({"pending", "reserved", "paid"})
ADMIN_CANCELLABLE = frozenset({"pending", "reserved", "paid", "fulfilled"})
# Where each status may be reached from: the machine itself (who may ask is the caller's).
REACHABLE_FROM: dict[str, frozenset[str]] = {
    "reserved": frozenset({"pending"}),
    "rejected": frozenset({"pending"}),
    "paid": frozenset({"reserved"}),
    "payment_failed": frozenset({"reserved"}),
    "expired": frozenset({"pending", "reserved"}),
    "fulfilled": frozenset({"paid"}),
    "delivered": frozenset({"fulfilled"}),
    "cancelled": ADMIN_CANCELLABLE,
}


def event_id(order_id: uuid.UUID, fact: str) -> uuid.UUID:
    return uuid.uuid5(_EVENT_IDS, f"{order_id}:{fact}")


def order_event(order_id: uuid.UUID, fact: str, payload: EventPayload) -> CloudEvent[Any]:
    return new_event(
        payload, source=ORDERS_SOURCE, subject=str(order_id), id=event_id(order_id, fact)
    )


def _now() -> datetime:
    return datetime.now(UTC)


class Lifecycle:
    def __init__(
        self,
        store: OrderStore,
        carts: CartStore,
        payments: PaymentProvider,
        metrics: OrderMetrics,
    ) -> None:
        self.store = store
        self.carts = carts
        self.payments = payments
        self.metrics = metrics

    # --- the one way a status changes ---------------------------------------------

    async def move(
        self,
        order: OrderRecord,
        status: str,
        events: Sequence[CloudEvent[Any]] = (),
        **changes: Any,
    ) -> tuple[OrderRecord, bool]:
        """Compare-and-set `order` from its status to `status`, then announce it.

        Returns the order as it is now and whether this call (or an earlier one that
        reached the same status) made the move; (current, False) when the order had
        moved elsewhere, so the caller decides what that means.
        """
        previous = order.status
        if previous != status and previous not in REACHABLE_FROM[status]:
            return order, False
        now = _now()
        if previous == status:
            # Moved already (a redelivery, or a crash before its events): announce again.
            await self.store.announce(order, previous, events)
            return order, True
        outcome = await self.store.transition(order.order_id, previous, status, now, **changes)
        if outcome.applied:
            moved = replace(order, status=status, updated_at=now, **_record_changes(changes))
            self.metrics.outcomes.labels(status).inc()
        else:
            current = await self.store.get(order.order_id)
            if current is None:
                raise LookupError(f"order {order.order_id} vanished")
            if current.status != status:
                return current, False
            # Another call made this very move meanwhile: announce it (the same events).
            moved = current
        await self.store.announce(moved, previous, events)
        return moved, True

    # --- inventory's outcomes -----------------------------------------------------------

    async def on_reserved(self, event: StockReserved) -> str:
        order = await self.store.get(event.order_id)
        if order is None:
            return "unknown_order"
        if order.status not in ("pending", "reserved"):
            return f"ignored:{order.status}"
        was_pending = order.status == "pending"
        reserved = OrderReserved(
            order_id=order.order_id, user_id=order.user_id, hold_expires_at=event.expires_at
        )
        # Already reserved (a redelivery, or a crash before its event): announced again.
        order, moved = await self.move(
            order,
            "reserved",
            [order_event(order.order_id, "reserved", reserved)],
            hold_expires_at=event.expires_at,
        )
        if not moved:
            return f"ignored:{order.status}"
        if was_pending:
            self.metrics.stage_seconds.labels("reserve").observe(_since(order.created_at))
        if order.from_cart:
            # The cart's job is done once the stock is held.
            await self.carts.remove(order.user_id, [line.product_id for line in order.lines])
        return await self.authorise(order)

    async def authorise(self, order: OrderRecord) -> str:
        """Authorise the payment of a reserved order; PaymentsUnavailable propagates (the
        consumer retries with the same key, until the hold expires)."""
        started = _now()
        key = idempotency_key(str(order.order_id), "authorise")
        try:
            payment = await self.payments.authorise(
                amount=order.total,
                currency=order.currency,
                token=order.payment_token,
                idempotency_key=key,
                reference=str(order.order_id),
            )
        except (PaymentDeclined, PaymentRefused) as exc:
            failed = OrderCancelled(order_id=order.order_id, reason="payment_failed", paid=False)
            order, moved = await self.move(
                order,
                "payment_failed",
                [order_event(order.order_id, "cancelled", failed)],
                cancel_reason="payment_failed",
            )
            if moved:
                self.metrics.cancelled.labels("payment_failed").inc()
            _logger.info(
                "payment refused", extra={"order_id": str(order.order_id), "why": str(exc)}
            )
            return "payment_failed" if moved else f"ignored:{order.status}"
        paid_event = order_event(order.order_id, "paid", OrderPaid(order_id=order.order_id))
        current, moved = await self.move(order, "paid", [paid_event], payment_id=payment.id)
        if not moved:
            # Cancelled or expired while the provider answered: give the hold on the card back.
            await self.payments.void(
                payment.id, idempotency_key=idempotency_key(str(order.order_id), "void")
            )
            return f"voided:{current.status}"
        self.metrics.paid.labels(order.currency).inc()
        self.metrics.funnel.labels("paid").inc()
        self.metrics.revenue.labels(order.currency).inc(float(order.total))
        self.metrics.stage_seconds.labels("pay").observe(_since(started))
        self.metrics.stage_seconds.labels("total").observe(_since(order.created_at))
        return "paid"

    async def on_shortfall(self, event: StockShortfall) -> str:
        order = await self.store.get(event.order_id)
        if order is None:
            return "unknown_order"
        short = [ShortRecord(s.product_id, s.requested, s.available) for s in event.short]
        order, moved = await self.move(order, "rejected", short=short, cancel_reason="rejected")
        if moved:
            self.metrics.cancelled.labels("rejected").inc()
            self.metrics.stage_seconds.labels("reserve").observe(_since(order.created_at))
            return "rejected"
        return f"ignored:{order.status}"

    async def on_released(self, event: StockReleased) -> str:
        if event.reason != "expired":
            return "ignored"  # released because of what orders said: nothing to do
        order = await self.store.get(event.order_id)
        if order is None or order.status not in ("pending", "reserved"):
            return "ignored"
        expired = order_event(order.order_id, "expired", OrderExpired(order_id=order.order_id))
        order, moved = await self.move(order, "expired", [expired], cancel_reason="expired")
        if moved:
            self.metrics.cancelled.labels("expired").inc()
            return "expired"
        return f"ignored:{order.status}"

    async def on_commit_refused(self, event: StockCommitRefused) -> str:
        """Paid, but inventory had let the holds go: nothing was sold, give the money back.

        The cancel is written before the money goes back, so a redelivery that finds
        the order cancelled for this reason announces it again and finishes the settling
        (a crash, or the provider unreachable, between the two); the keys make it once.
        """
        order = await self.store.get(event.order_id)
        if order is None:
            return "ignored"
        redelivered = order.status == "cancelled" and order.cancel_reason == "stock_expired"
        if order.status != "paid" and not redelivered:
            return "ignored"
        cancelled = OrderCancelled(order_id=order.order_id, reason="other", paid=False)
        order, moved = await self.move(
            order,
            "cancelled",
            [order_event(order.order_id, "cancelled", cancelled)],
            cancel_reason="stock_expired",
        )
        if not moved:
            return f"ignored:{order.status}"
        await self._settle(order)
        if redelivered:
            return "settled"
        self.metrics.cancelled.labels("stock_expired").inc()
        return "cancelled"

    # --- what people do -----------------------------------------------------------------

    async def cancel(self, order: OrderRecord, *, by_admin: bool) -> OrderRecord:
        allowed = ADMIN_CANCELLABLE if by_admin else CUSTOMER_CANCELLABLE
        reason: CancelReason = "admin" if by_admin else "customer"
        for _ in range(5):  # the status may move under us (reserved -> paid); bounded
            if order.status == "cancelled":
                # A retry finishes what a failed call left: the money goes back once.
                await self._settle(order)
                return order
            if order.status not in allowed:
                raise errors.illegal_transition(order.order_id, order.status, "cancelled")
            paid = order.status in ("paid", "fulfilled")
            payload = OrderCancelled(order_id=order.order_id, reason=reason, paid=paid)
            current, moved = await self.move(
                order,
                "cancelled",
                [order_event(order.order_id, "cancelled", payload)],
                cancel_reason=reason,
            )
            if moved:
                self.metrics.cancelled.labels(reason).inc()
                await self._settle(current)
                return current
            order = current
        raise errors.illegal_transition(order.order_id, order.status, "cancelled")

    async def fulfil(self, order: OrderRecord) -> OrderRecord:
        if order.status not in ("paid", "fulfilled"):
            raise errors.illegal_transition(order.order_id, order.status, "fulfilled")
        if order.payment_id is None:
            raise LookupError(f"paid order {order.order_id} has no payment id")
        # Captured first, under a key of the order: a retry after a crash captures once.
        await self.payments.capture(
            order.payment_id, idempotency_key=idempotency_key(str(order.order_id), "capture")
        )
        # Already fulfilled (a retry): the move announces again, under the same event id.
        fulfilled = OrderFulfilled(
            order_id=order.order_id, user_id=order.user_id, lines=_event_lines(order)
        )
        current, moved = await self.move(
            order, "fulfilled", [order_event(order.order_id, "fulfilled", fulfilled)]
        )
        if not moved:
            raise errors.illegal_transition(order.order_id, current.status, "fulfilled")
        return current

    async def deliver(self, order: OrderRecord) -> OrderRecord:
        if order.status not in ("fulfilled", "delivered"):
            raise errors.illegal_transition(order.order_id, order.status, "delivered")
        delivered = OrderDelivered(
            order_id=order.order_id, user_id=order.user_id, lines=_event_lines(order)
        )
        current, moved = await self.move(
            order, "delivered", [order_event(order.order_id, "delivered", delivered)]
        )
        if not moved:
            raise errors.illegal_transition(order.order_id, current.status, "delivered")
        return current

    async def _settle(self, order: OrderRecord) -> None:
        """Give a cancelled order's money back as the provider holds it now: void an
        authorisation, refund a capture (the provider refuses a refund before capture
        and a void after it), nothing when that is done. Keys derived from the order
        make a repeat, or a race with a fulfilment's capture, give back once."""
        if order.payment_id is None:
            return
        payment = await self.payments.get(order.payment_id)
        key = str(order.order_id)
        if payment.status == PaymentStatus.AUTHORIZED:
            await self.payments.void(payment.id, idempotency_key=idempotency_key(key, "void"))
        elif payment.status in (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED):
            refund = await self.payments.refund(
                payment.id, idempotency_key=idempotency_key(key, "refund")
            )
            if not refund.replayed:
                self.metrics.refunded.labels(refund.currency).inc(float(refund.amount))


def _event_lines(order: OrderRecord) -> list[OrderLine]:
    return [OrderLine(product_id=line.product_id, quantity=line.quantity) for line in order.lines]


def _since(moment: datetime) -> float:
    return max((_now() - moment).total_seconds(), 0.0)


def _record_changes(changes: dict[str, Any]) -> dict[str, Any]:
    fields = dict(changes)
    if "short" in fields:
        fields["short"] = tuple(fields["short"])
    return fields
