"""The order state machine end to end, for real: checkout over HTTP, the order event
through Kafka to a real inventory, its answer back through Kafka, the payment through
devstack's sandbox. pending -> reserved -> paid -> fulfilled -> delivered; rejected;
payment_failed; cancelled after payment (voided, restocked) and after fulfilment
(refunded); illegal transitions are 409 naming the status."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from devstack.components.payments import PaymentsSandbox
from productstore_contracts.events.orders import (
    OrderCancelled,
    OrderDelivered,
    OrderFulfilled,
    OrderPaid,
    OrderPlaced,
    OrderReserved,
)
from tests.catalog.support import Tokens
from tests.orders.support import (
    OrderEventLog,
    Shop,
    assert_problem,
    bearer,
    money,
    place,
    wait_status,
)
from tests.support.contracts import check_recorded
from tests.support.metrics import scrape
from tests.support.payments import sandbox_http

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sandbox(payments_sandbox: PaymentsSandbox) -> Iterator[httpx.Client]:
    with sandbox_http(payments_sandbox) as http:
        yield http


def payment_of(sandbox: httpx.Client, order_id: str) -> dict[str, object]:
    """The sandbox's record of the order's authorisation (found by its derived key)."""
    found = sandbox.get("/v1/payments", params={"idempotency_key": f"order:{order_id}:authorise"})
    assert found.status_code == 200, found.text
    body = found.json()
    payments = body["data"] if isinstance(body, dict) and "data" in body else body
    assert len(payments) == 1, payments
    payment: dict[str, object] = payments[0]
    return payment


async def test_an_order_is_reserved_paid_fulfilled_and_delivered(
    client: httpx.AsyncClient,
    tokens: Tokens,
    shop: Shop,
    order_log: OrderEventLog,
    sandbox: httpx.Client,
) -> None:
    product = await shop.product(price="12.50", stock=5)
    placed = await place(client, tokens.user, [(product, 1), (product, 1)])
    assert placed.status_code == 202, placed.text
    order = placed.json()
    assert order["status"] == "pending"
    assert placed.headers["Location"] == f"/api/orders/{order['id']}"
    # Lines of one product are summed before anything is held.
    assert [(line["product_id"], line["quantity"]) for line in order["lines"]] == [
        (str(product), 2)
    ]
    assert money(order["total"]) == money("25.00")

    paid = await wait_status(client, tokens.user, order["id"], "paid")
    assert paid["hold_expires_at"] is None
    # Inventory sold the two units (OrderPaid committed the holds).
    await shop.wait_stock(product, on_hand=3, reserved=0)
    assert payment_of(sandbox, order["id"])["status"] == "authorized"

    fulfilled = await client.post(f"/api/orders/{order['id']}/fulfil", headers=bearer(tokens.admin))
    assert fulfilled.status_code == 200, fulfilled.text
    assert fulfilled.json()["status"] == "fulfilled"
    assert payment_of(sandbox, order["id"])["status"] == "captured"
    # Fulfilling again is a no-op (the capture's key makes it once).
    again = await client.post(f"/api/orders/{order['id']}/fulfil", headers=bearer(tokens.admin))
    assert again.status_code == 200
    assert again.json()["status"] == "fulfilled"

    # The customer may not cancel after fulfilment; the 409 names the status.
    refused = await client.post(f"/api/orders/{order['id']}/cancel", headers=bearer(tokens.user))
    problem = assert_problem(refused, 409, "illegal_transition")
    assert problem["current_status"] == "fulfilled"
    assert "fulfilled" in problem["detail"]

    delivered = await client.post(
        f"/api/orders/{order['id']}/deliver", headers=bearer(tokens.admin)
    )
    assert delivered.json()["status"] == "delivered"
    assert_problem(
        await client.post(f"/api/orders/{order['id']}/fulfil", headers=bearer(tokens.admin)),
        409,
        "illegal_transition",
    )

    # Delivering again is a no-op that announces the same event again (the same id).
    again = await client.post(f"/api/orders/{order['id']}/deliver", headers=bearer(tokens.admin))
    assert again.status_code == 200
    assert again.json()["status"] == "delivered"

    await order_log.wait_for(
        lambda _: len(order_log.of(order["id"], OrderDelivered)) >= 2, "OrderDelivered twice"
    )
    (placed_event,) = order_log.of(order["id"], OrderPlaced)
    assert [(line.product_id, line.quantity) for line in placed_event.lines] == [(product, 2)]
    reserved_event = order_log.of(order["id"], OrderReserved)[0]
    assert reserved_event.user_id == placed_event.user_id
    assert reserved_event.hold_expires_at > datetime.fromisoformat(order["created_at"])
    assert order_log.of(order["id"], OrderPaid)
    for kind in (OrderFulfilled, OrderDelivered):
        announced = order_log.of(order["id"], kind)[0]
        assert announced.user_id == placed_event.user_id
        assert [(line.product_id, line.quantity) for line in announced.lines] == [(product, 2)]
    # Each move is one event, however often it was announced: consumers drop the copies.
    ids: dict[str, set[uuid.UUID]] = {}
    for event in order_log.events:
        if event.subject == order["id"]:
            ids.setdefault(event.type, set()).add(event.id)
    assert {kind: len(found) for kind, found in ids.items()} == {
        f"productstore.orders.{name}.v1": 1
        for name in (
            "OrderPlaced",
            "OrderReserved",
            "OrderPaid",
            "OrderFulfilled",
            "OrderDelivered",
        )
    }


async def test_an_order_for_more_than_there_is_is_rejected_with_its_lines(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop
) -> None:
    plenty = await shop.product(stock=10)
    scarce = await shop.product(stock=1)
    placed = await place(client, tokens.user, [(plenty, 1), (scarce, 2)])
    assert placed.status_code == 202, placed.text
    rejected = await wait_status(client, tokens.user, placed.json()["id"], "rejected")
    assert rejected["short"] == [{"product_id": str(scarce), "requested": 2, "available": 1}]
    assert rejected["cancel_reason"] == "rejected"
    # Nothing stays held for it.
    await shop.wait_stock(plenty, on_hand=10, reserved=0)


async def test_a_declined_card_fails_the_order_and_releases_its_stock(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop, order_log: OrderEventLog
) -> None:
    product = await shop.product(stock=4)
    placed = await place(client, tokens.user, [(product, 3)], payment_token="tok_decline")
    order_id = placed.json()["id"]
    failed = await wait_status(client, tokens.user, order_id, "payment_failed")
    assert failed["cancel_reason"] == "payment_failed"
    await shop.wait_stock(product, on_hand=4, reserved=0)
    await order_log.wait_for(lambda _: bool(order_log.of(order_id, OrderCancelled)), "cancelled")
    (cancelled,) = order_log.of(order_id, OrderCancelled)
    assert (cancelled.reason, cancelled.paid) == ("payment_failed", False)


async def test_cancelling_a_paid_order_voids_the_payment_and_restocks(
    client: httpx.AsyncClient,
    tokens: Tokens,
    shop: Shop,
    order_log: OrderEventLog,
    sandbox: httpx.Client,
) -> None:
    product = await shop.product(stock=6)
    placed = await place(client, tokens.user, [(product, 2)])
    order_id = placed.json()["id"]
    await wait_status(client, tokens.user, order_id, "paid")
    await shop.wait_stock(product, on_hand=4, reserved=0)

    cancelled = await client.post(f"/api/orders/{order_id}/cancel", headers=bearer(tokens.user))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "customer"
    # The authorisation was never captured: it is voided, not refunded.
    assert payment_of(sandbox, order_id)["status"] == "voided"
    await shop.wait_stock(product, on_hand=6, reserved=0)
    await order_log.wait_for(lambda _: bool(order_log.of(order_id, OrderCancelled)), "cancelled")
    (event,) = order_log.of(order_id, OrderCancelled)
    assert (event.reason, event.paid) == ("customer", True)

    # Cancelling again answers the cancelled order; no second event, no second void.
    again = await client.post(f"/api/orders/{order_id}/cancel", headers=bearer(tokens.user))
    assert again.status_code == 200
    assert again.json()["status"] == "cancelled"


async def test_an_admin_cancelling_a_fulfilled_order_refunds_it(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop, sandbox: httpx.Client
) -> None:
    product = await shop.product(price="30.00", stock=2)
    placed = await place(client, tokens.user, [(product, 1)])
    order_id = placed.json()["id"]
    await wait_status(client, tokens.user, order_id, "paid")
    await client.post(f"/api/orders/{order_id}/fulfil", headers=bearer(tokens.admin))

    cancelled = await client.post(f"/api/orders/{order_id}/cancel", headers=bearer(tokens.admin))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancel_reason"] == "admin"
    payment = payment_of(sandbox, order_id)
    assert payment["status"] == "refunded"
    assert money(payment["amount_refunded"]) == money("30.00")
    await shop.wait_stock(product, on_hand=2, reserved=0)


async def test_orders_are_their_owners_and_admins_alone(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop
) -> None:
    product = await shop.product(stock=3)
    placed = await place(client, tokens.admin, [(product, 1)])
    order_id = placed.json()["id"]
    assert_problem(
        await client.get(f"/api/orders/{order_id}", headers=bearer(tokens.user)),
        404,
        "order_not_found",
    )
    assert_problem(
        await client.post(f"/api/orders/{order_id}/cancel", headers=bearer(tokens.user)),
        404,
        "order_not_found",
    )
    assert_problem(
        await client.post(f"/api/orders/{order_id}/fulfil", headers=bearer(tokens.user)), 403
    )
    assert_problem(
        await client.get(f"/api/orders/{uuid.uuid4()}", headers=bearer(tokens.user)), 404
    )
    await wait_status(client, tokens.admin, order_id, "paid")

    mine = await client.get("/api/orders", headers=bearer(tokens.user))
    assert all(order["id"] != order_id for order in mine.json()["items"])
    # An admin lists everyone's orders by status.
    paid = await client.get("/api/orders", params={"status": "paid"}, headers=bearer(tokens.admin))
    assert order_id in [order["id"] for order in paid.json()["items"]]
    assert all(order["status"] == "paid" for order in paid.json()["items"])


async def test_the_events_sent_are_the_recorded_contract_examples(
    order_log: OrderEventLog,
) -> None:
    """Runs after the module's orders: every event validated against the contract as it
    was read (OrderEventLog decodes with productstore_contracts.events.orders); the
    first of each kind is the recorded example inventory's contract test reads."""
    names = ("OrderPlaced", "OrderReserved", "OrderPaid", "OrderFulfilled", "OrderDelivered")
    types = [f"productstore.orders.{name}.v1" for name in names]
    types.append("productstore.orders.OrderCancelled.v1")
    await order_log.wait_for(
        lambda events: {e.type for e in events} >= set(types), "every kind of event"
    )
    check_recorded(order_log.raw, types)


async def test_business_metrics_count_a_checkout_by_stage(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop
) -> None:
    before = await scrape(client)
    product = await shop.product(price="7.25", stock=3)
    placed = await place(client, tokens.user, [(product, 2)])
    await wait_status(client, tokens.user, placed.json()["id"], "paid")
    declined = await place(client, tokens.user, [(product, 1)], payment_token="tok_decline")
    await wait_status(client, tokens.user, declined.json()["id"], "payment_failed")
    # The status is visible as soon as its compare-and-set is; the counter moves a
    # moment later, after the move's events are written.
    deadline = time.monotonic() + 10
    while True:
        after = await scrape(client)
        cancelled = after.grew(before, "orders_cancelled_total", reason="payment_failed")
        if cancelled > 0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)

    assert after.grew(before, "orders_placed_total", currency="EUR") == 2
    assert after.grew(before, "orders_paid_total", currency="EUR") == 1
    assert after.grew(before, "orders_revenue_total", currency="EUR") == pytest.approx(14.5)
    assert cancelled == 1
    assert after.grew(before, "orders_transitions_total", status="reserved") == 2
    for stage, count in (("accept", 2), ("reserve", 2), ("pay", 1), ("total", 1)):
        grew = after.grew(before, "orders_checkout_stage_seconds_count", stage=stage)
        assert grew == count, stage
