"""An order inventory reserved but that could not be paid before its hold ran out
expires: the provider is unreachable for this module (a closed loopback port), the
consumer's tries at authorising give up, inventory's sweeper releases the hold
(StockReleased, expired) and orders moves the order to `expired` with OrderExpired.
The stock is back on sale."""

from __future__ import annotations

import httpx
import pytest

from productstore_contracts.events.orders import OrderExpired, OrderPaid
from tests.catalog.support import Tokens
from tests.orders.support import (
    OrderEventLog,
    Shop,
    assert_problem,
    bearer,
    place,
    wait_status,
)
from tests.support.contracts import check_recorded

pytestmark = pytest.mark.anyio

# Nothing listens on the discard port: every provider call is refused at once.
UNREACHABLE_PROVIDER = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def overrides() -> dict[str, object]:
    return {"payments_url": UNREACHABLE_PROVIDER}


@pytest.fixture(scope="module")
def inventory_overrides() -> dict[str, object]:
    return {"hold_seconds": 3.0, "sweep_interval_seconds": 0.5}


async def test_an_unpaid_reservation_expires_and_frees_its_stock(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop, order_log: OrderEventLog
) -> None:
    product = await shop.product(stock=3)
    placed = await place(client, tokens.user, [(product, 2)])
    assert placed.status_code == 202, placed.text
    order_id = placed.json()["id"]

    expired = await wait_status(client, tokens.user, order_id, "expired", timeout=90)
    assert expired["cancel_reason"] == "expired"
    await order_log.wait_for(lambda _: bool(order_log.of(order_id, OrderExpired)), "expired")
    assert order_log.of(order_id, OrderPaid) == []
    await shop.wait_stock(product, on_hand=3, reserved=0)

    # An expired order is final: cancelling it is refused with its status.
    refused = await client.post(f"/api/orders/{order_id}/cancel", headers=bearer(tokens.user))
    assert assert_problem(refused, 409, "illegal_transition")["current_status"] == "expired"


async def test_the_expiry_event_is_the_recorded_contract_example(
    order_log: OrderEventLog,
) -> None:
    check_recorded(order_log.raw, ["productstore.orders.OrderExpired.v1"])
