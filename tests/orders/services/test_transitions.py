"""Every move of an order is a compare-and-set: inventory's answers delivered again (or
contradicting what happened since) change nothing, racing cancels cancel once, a
payment provider outage during a synchronous call is a 503 that leaves the order as it
was, and a cancel whose refund an outage cut short is finished by its retry."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from fastapi import FastAPI

from devstack.components.kafka import Kafka
from devstack.components.payments import PaymentsSandbox
from productstore_common.events import new_event, to_kafka_record
from productstore_common.kit.container import container_of
from productstore_common.payments import PaymentsUnavailable
from productstore_contracts.events import EventPayload
from productstore_contracts.events.inventory import (
    INVENTORY_SOURCE,
    ReservedLine,
    ShortLine,
    StockCommitRefused,
    StockReserved,
    StockShortfall,
)
from productstore_contracts.events.orders import OrderCancelled, OrderPaid
from productstore_orders.app.core.config import OrdersSettings
from productstore_orders.app.main import create_app
from productstore_orders.app.services.lifecycle import Lifecycle
from tests.catalog.support import Tokens, asgi_client, wait_ready
from tests.orders.services.test_state_machine import payment_of
from tests.orders.support import (
    DEADLINE_SECONDS,
    OrderEventLog,
    Shop,
    assert_problem,
    bearer,
    money,
    place,
    wait_status,
)
from tests.support.payments import sandbox_http

pytestmark = pytest.mark.anyio


async def _send(kafka: Kafka, topic: str, payloads: list[EventPayload]) -> None:
    """Inventory's answers, published as inventory does (key: order id), new ids each."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for payload in payloads:
            subject = str(payload.order_id)  # type: ignore[attr-defined]
            record = to_kafka_record(new_event(payload, source=INVENTORY_SOURCE, subject=subject))
            await producer.send_and_wait(
                topic, record.value, key=record.key, headers=record.headers
            )
    finally:
        await producer.stop()


async def test_answers_delivered_again_change_nothing(
    *,
    client: httpx.AsyncClient,
    tokens: Tokens,
    shop: Shop,
    kafka: Kafka,
    settings: OrdersSettings,
    order_log: OrderEventLog,
) -> None:
    product = await shop.product(stock=5)
    placed = await place(client, tokens.user, [(product, 1)])
    order_id = uuid.UUID(placed.json()["id"])
    await wait_status(client, tokens.user, str(order_id), "paid")
    before = (await client.get(f"/api/orders/{order_id}", headers=bearer(tokens.user))).json()

    later = datetime.now(UTC) + timedelta(minutes=5)
    await _send(
        kafka,
        settings.inventory_topic,
        [
            # The reservation again (another event id: the consumer's dedupe cannot help).
            StockReserved(
                order_id=order_id,
                lines=[ReservedLine(product_id=product, quantity=1)],
                expires_at=later,
            ),
            # A shortfall for an order that was reserved and paid: refused by the CAS.
            StockShortfall(
                order_id=order_id,
                short=[ShortLine(product_id=product, requested=1, available=0)],
            ),
        ],
    )
    # A marker order placed after them: once it is paid, the two were handled.
    marker = await place(client, tokens.user, [(product, 1)])
    await wait_status(client, tokens.user, marker.json()["id"], "paid")
    await asyncio.sleep(1)

    after = (await client.get(f"/api/orders/{order_id}", headers=bearer(tokens.user))).json()
    assert after == before
    await order_log.wait_for(lambda _: bool(order_log.of(order_id, OrderPaid)), "paid")
    # Announced again maybe, but as the same event: one id.
    paid_ids = {
        e.id
        for e in order_log.events
        if e.subject == str(order_id) and isinstance(e.data, OrderPaid)
    }
    assert len(paid_ids) == 1


async def test_racing_cancels_cancel_once(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop, order_log: OrderEventLog
) -> None:
    product = await shop.product(stock=4)
    placed = await place(client, tokens.user, [(product, 2)])
    order_id = placed.json()["id"]
    await wait_status(client, tokens.user, order_id, "paid")

    answers = await asyncio.gather(
        *(
            client.post(f"/api/orders/{order_id}/cancel", headers=bearer(token))
            for token in [tokens.user] * 4 + [tokens.admin] * 4
        )
    )
    assert [a.status_code for a in answers] == [200] * 8
    assert {a.json()["status"] for a in answers} == {"cancelled"}
    # One winner decided the reason; everyone saw the same cancelled order.
    assert len({a.json()["cancel_reason"] for a in answers}) == 1
    await shop.wait_stock(product, on_hand=4, reserved=0)
    await order_log.wait_for(lambda _: bool(order_log.of(order_id, OrderCancelled)), "cancelled")
    ids = {
        e.id
        for e in order_log.events
        if e.subject == order_id and isinstance(e.data, OrderCancelled)
    }
    assert len(ids) == 1


@pytest.fixture(scope="module")
async def outage_app(settings: OrdersSettings) -> AsyncIterator[FastAPI]:
    """A second orders replica whose payment provider is unreachable (no consumer)."""
    replica: FastAPI = create_app(
        settings.model_copy(
            update={"payments_url": "http://127.0.0.1:9", "consume_inventory": False}
        )
    )
    async with replica.router.lifespan_context(replica):
        await wait_ready(replica)
        yield replica


@pytest.fixture(scope="module")
async def outage_client(outage_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(outage_app) as http:
        yield http


async def test_a_provider_outage_is_a_503_and_the_order_stays(
    client: httpx.AsyncClient,
    outage_client: httpx.AsyncClient,
    tokens: Tokens,
    shop: Shop,
) -> None:
    product = await shop.product(stock=2)
    placed = await place(client, tokens.user, [(product, 1)])
    order_id = placed.json()["id"]
    await wait_status(client, tokens.user, order_id, "paid")

    down = await outage_client.post(f"/api/orders/{order_id}/fulfil", headers=bearer(tokens.admin))
    problem = assert_problem(down, 503, "dependency_unavailable")
    assert problem["dependency"] == "payments"
    assert down.headers["Retry-After"] == "5"
    assert "payment provider is unavailable" in problem["detail"]
    assert (await client.get(f"/api/orders/{order_id}", headers=bearer(tokens.user))).json()[
        "status"
    ] == "paid"

    # With the provider back (the first replica), the same request goes through.
    fulfilled = await client.post(f"/api/orders/{order_id}/fulfil", headers=bearer(tokens.admin))
    assert fulfilled.json()["status"] == "fulfilled"


async def test_a_refund_cut_short_by_an_outage_is_finished_by_the_retry(
    client: httpx.AsyncClient,
    outage_client: httpx.AsyncClient,
    tokens: Tokens,
    shop: Shop,
    payments_sandbox: PaymentsSandbox,
) -> None:
    product = await shop.product(price="15.00", stock=1)
    placed = await place(client, tokens.user, [(product, 1)])
    order_id = placed.json()["id"]
    await wait_status(client, tokens.user, order_id, "paid")
    await client.post(f"/api/orders/{order_id}/fulfil", headers=bearer(tokens.admin))

    # The cancel is decided, then the provider cannot be reached for the refund.
    cut = await outage_client.post(f"/api/orders/{order_id}/cancel", headers=bearer(tokens.admin))
    assert_problem(cut, 503, "dependency_unavailable")
    # The client retries (here, on a replica that reaches the provider): refunded once.
    retried = await client.post(f"/api/orders/{order_id}/cancel", headers=bearer(tokens.admin))
    assert retried.json()["status"] == "cancelled"
    again = await client.post(f"/api/orders/{order_id}/cancel", headers=bearer(tokens.admin))
    assert again.status_code == 200
    with sandbox_http(payments_sandbox) as sandbox:
        payment = payment_of(sandbox, order_id)
    assert payment["status"] == "refunded"
    assert money(payment["amount_refunded"]) == money("15.00")


async def test_a_void_cut_short_by_an_outage_is_finished_by_the_redelivery(
    *,
    client: httpx.AsyncClient,
    outage_app: FastAPI,
    tokens: Tokens,
    shop: Shop,
    kafka: Kafka,
    settings: OrdersSettings,
    payments_sandbox: PaymentsSandbox,
) -> None:
    product = await shop.product(stock=2)
    placed = await place(client, tokens.user, [(product, 1)])
    order_id = uuid.UUID(placed.json()["id"])
    await wait_status(client, tokens.user, str(order_id), "paid")

    # Inventory refuses the commit; the replica that handles it writes the cancel, then
    # cannot reach the provider to void: the consumer would see the error and retry.
    refused = StockCommitRefused(order_id=order_id, reason="expired")
    lifecycle = container_of(outage_app).get(Lifecycle)
    with pytest.raises(PaymentsUnavailable):
        await lifecycle.on_commit_refused(refused)
    order = await wait_status(client, tokens.user, str(order_id), "cancelled")
    assert order["cancel_reason"] == "stock_expired"
    with sandbox_http(payments_sandbox) as sandbox:
        assert payment_of(sandbox, str(order_id))["status"] == "authorized"

        # Delivered again (to the replica that reaches the provider): voided, once.
        await _send(kafka, settings.inventory_topic, [refused, refused])
        deadline = time.monotonic() + DEADLINE_SECONDS
        while (status := payment_of(sandbox, str(order_id))["status"]) != "voided":
            assert time.monotonic() < deadline, f"the payment is {status}, not voided"
            await asyncio.sleep(0.1)
    after = (await client.get(f"/api/orders/{order_id}", headers=bearer(tokens.user))).json()
    assert (after["status"], after["cancel_reason"]) == ("cancelled", "stock_expired")
