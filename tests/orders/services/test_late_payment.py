"""A payment authorised after inventory let the hold go sells nothing: inventory
refuses to commit (StockCommitRefused), orders cancels the order (`stock_expired`)
and voids the authorisation, and the units stay on sale. The hold here is shorter
than the sandbox's slow card (`tok_slow` answers after a second)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from devstack.components.payments import PaymentsSandbox
from tests.catalog.support import Tokens
from tests.orders.services.test_state_machine import payment_of
from tests.orders.support import DEADLINE_SECONDS, Shop, place, wait_status
from tests.support.payments import sandbox_http

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def inventory_overrides() -> dict[str, object]:
    return {"hold_seconds": 0.3, "sweep_interval_seconds": 0.2}


@pytest.fixture(scope="module")
def sandbox(payments_sandbox: PaymentsSandbox) -> Iterator[httpx.Client]:
    with sandbox_http(payments_sandbox) as http:
        yield http


async def test_a_payment_after_the_hold_expired_is_voided_and_sells_nothing(
    client: httpx.AsyncClient, tokens: Tokens, shop: Shop, sandbox: httpx.Client
) -> None:
    product = await shop.product(stock=2)
    placed = await place(client, tokens.user, [(product, 2)], payment_token="tok_slow")
    order_id = placed.json()["id"]
    cancelled = await wait_status(client, tokens.user, order_id, "cancelled")
    assert cancelled["cancel_reason"] == "stock_expired"
    # The cancel is written first, the void follows it (and a redelivery finishes it).
    deadline = time.monotonic() + DEADLINE_SECONDS
    while (status := payment_of(sandbox, order_id)["status"]) != "voided":
        assert time.monotonic() < deadline, f"the late authorisation is {status}, not voided"
        await asyncio.sleep(0.1)
    await shop.wait_stock(product, on_hand=2, reserved=0)
