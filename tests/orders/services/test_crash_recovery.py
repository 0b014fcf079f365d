"""SIGKILL of orders or inventory in the middle of checkouts, then a restart, or
Kafka stopped under them and started again: no order is lost, no unit is sold
twice, no hold outlives its expiry.

Both services run as real uvicorn processes (the `processes` fixture) on the module's
keyspaces and topics; buyers check out concurrently through orders' HTTP API, each
retrying its POST under its own Idempotency-Key while the process is away (as a
client of the gateway would). Once a few orders were accepted, one victim is killed
(SIGKILL: no shutdown hook, no flush) and started again on the same socket, or
devstack's Kafka is stopped for KAFKA_OUTAGE_SECONDS while checkouts go on (orders
takes them into its outbox; the events wait there) and started again. Then,
polled with a deadline:

- every accepted order is listed for its buyer once (no duplicate from a retry) and
  ends paid or in a final status (rejected, expired, payment_failed, cancelled);
- per product, nothing stays reserved and exactly the paid orders' units were sold
  (`on_hand == stock - sold`), so no unit was booked twice and none vanished;
- holds are short (`hold_seconds`), so a hold whose order the crash stranded is
  released by the sweeper within the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from devstack.pytest_plugin import DevstackSession
from tests.catalog.support import AuthServer
from tests.orders.conftest import Processes
from tests.orders.support import Shop, bearer, checkout_body
from tests.reviews.support import new_user_token
from tests.support.outages import restarting_stack
from tests.support.service_process import ServiceProcess

pytestmark = pytest.mark.anyio

BUYERS = 16
PRODUCTS = 3
STOCK = 6
# Accepted orders before the kill: the rest are placed while the victim is away.
KILL_AFTER = 4
# Paid or final: nothing moves an order on from these without a person asking.
SETTLED = frozenset({"paid", "rejected", "expired", "payment_failed", "cancelled"})
SETTLE_SECONDS = 180.0
POST_SECONDS = 180.0
KAFKA_OUTAGE_SECONDS = 5.0

# Starts one more checkout, counted with the others.
OneMore = Callable[[], asyncio.Task[str]]
# What happens to the stack once a few checkouts were accepted.
Disruption = Callable[[list[asyncio.Task[str]], OneMore], Awaitable[None]]


@pytest.fixture(scope="module")
def inventory_overrides() -> dict[str, object]:
    # Short holds: a hold stranded by the crash must be swept within the test.
    return {"hold_seconds": 30.0, "sweep_interval_seconds": 1.0}


def _carts(products: list[uuid.UUID], seed: int) -> list[list[tuple[uuid.UUID, int]]]:
    """One cart per buyer: 1-3 lines of 1-2 units, products repeated at times."""
    chooser = random.Random(seed)  # noqa: S311 - test data, not security
    return [
        [(chooser.choice(products), chooser.randint(1, 2)) for _ in range(chooser.randint(1, 3))]
        for _ in range(BUYERS)
    ]


async def _checkout(
    orders_url: str, token: str, lines: list[tuple[uuid.UUID, int]], delay: float
) -> str:
    """POST the checkout until it is accepted (202), retrying under the same key
    through connection failures and 5xx; the order's id."""
    await asyncio.sleep(delay)
    key = uuid.uuid4().hex
    headers = {**bearer(token), "Idempotency-Key": key}
    deadline = time.monotonic() + POST_SECONDS
    async with httpx.AsyncClient(base_url=orders_url, timeout=30) as http:
        while True:
            answer: httpx.Response | None = None
            # A transport error: the process was killed under the request, or is starting.
            with contextlib.suppress(httpx.TransportError):
                answer = await http.post("/api/orders", json=checkout_body(lines), headers=headers)
            if answer is not None and answer.status_code == 202:
                order_id: str = answer.json()["id"]
                return order_id
            assert answer is None or answer.status_code >= 500, answer.text
            assert time.monotonic() < deadline, "the checkout was never accepted"
            await asyncio.sleep(0.2)


async def _orders_of(orders_url: str, token: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=orders_url, timeout=30) as http:
        listed = await http.get("/api/orders", params={"limit": 200}, headers=bearer(token))
        assert listed.status_code == 200, listed.text
        items: list[dict[str, Any]] = listed.json()["items"]
        return items


async def _settled(
    processes: Processes, shop: Shop, token: str, products: list[uuid.UUID]
) -> tuple[list[dict[str, Any]], dict[uuid.UUID, dict[str, Any]]]:
    """The buyer's orders and the products' stock once every order is settled and the
    stock says exactly what the paid orders bought; fails with the last view when the
    deadline passes first."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        orders = await _orders_of(processes.orders.url, token)
        stock = {product: await shop.stock(product) for product in products}
        # A paid order may still lose its units (its hold expired while orders was
        # away: inventory refuses the sale and orders cancels it), so `paid` counts
        # are compared with the stock only once nothing moves.
        sold = _sold(orders)
        for product, view in stock.items():
            for name, counts in view["locations"].items():
                assert 0 <= counts["reserved"] <= counts["on_hand"], (product, name, counts)
        statuses = Counter(order["status"] for order in orders)
        if set(statuses) <= SETTLED and all(
            (view["on_hand"], view["reserved"]) == (STOCK - sold[product], 0)
            for product, view in stock.items()
        ):
            return orders, stock
        assert time.monotonic() < deadline, (
            f"not settled: orders {dict(statuses)}, sold {dict(sold)}, "
            f"stock {[(v['on_hand'], v['reserved']) for v in stock.values()]}"
        )
        await asyncio.sleep(0.5)


def _sold(orders: list[dict[str, Any]]) -> Counter[uuid.UUID]:
    sold: Counter[uuid.UUID] = Counter()
    for order in orders:
        if order["status"] == "paid":
            for line in order["lines"]:
                sold[uuid.UUID(line["product_id"])] += line["quantity"]
    return sold


async def _crash_during_checkouts(
    processes: Processes,
    shop: Shop,
    auth_url: str,
    disrupt: Disruption,
    seed: int,
) -> None:
    token = await asyncio.to_thread(new_user_token, auth_url)
    products = [await shop.product(stock=STOCK) for _ in range(PRODUCTS)]
    carts = _carts(products, seed)
    # Spread over a few seconds, so some checkouts meet the victim down or starting.
    buyers = [
        asyncio.create_task(_checkout(processes.orders.url, token, lines, index * 0.25))
        for index, lines in enumerate(carts)
    ]
    deadline = time.monotonic() + POST_SECONDS
    while sum(task.done() for task in buyers) < KILL_AFTER:
        assert time.monotonic() < deadline, "no checkout was accepted before the kill"
        await asyncio.sleep(0.05)

    def one_more() -> asyncio.Task[str]:
        """A checkout placed now, counted with the others."""
        task = asyncio.create_task(_checkout(processes.orders.url, token, [(products[0], 1)], 0))
        buyers.append(task)
        return task

    await disrupt(buyers, one_more)
    accepted = await asyncio.gather(*buyers)

    orders, stock = await _settled(processes, shop, token, products)
    # Every accepted order is there once; retries made no second order.
    assert sorted(order["id"] for order in orders) == sorted(accepted)
    assert len(set(accepted)) == len(buyers)
    sold = _sold(orders)
    for product in products:
        assert 0 <= stock[product]["on_hand"] == STOCK - sold[product]


def _killing(victim: ServiceProcess) -> Disruption:
    async def kill_and_restart(*_: object) -> None:
        killed = victim.pid
        victim.kill()
        await asyncio.to_thread(victim.start)
        assert victim.pid != killed

    return kill_and_restart


async def test_orders_killed_mid_checkout_loses_no_order_and_books_no_unit_twice(
    processes: Processes, process_shop: Shop, auth_server: AuthServer
) -> None:
    await _crash_during_checkouts(
        processes, process_shop, auth_server.url, _killing(processes.orders), seed=12
    )


async def test_inventory_killed_mid_checkout_loses_no_order_and_books_no_unit_twice(
    processes: Processes, process_shop: Shop, auth_server: AuthServer
) -> None:
    await _crash_during_checkouts(
        processes, process_shop, auth_server.url, _killing(processes.inventory), seed=21
    )


@pytest.mark.serial  # in make test: it stops the Kafka every other test uses
async def test_kafka_stopped_mid_checkout_loses_no_order_and_books_no_unit_twice(
    processes: Processes, process_shop: Shop, auth_server: AuthServer, devstack: DevstackSession
) -> None:
    stack = restarting_stack(devstack)

    async def outage(_: list[asyncio.Task[str]], one_more: OneMore) -> None:
        await asyncio.to_thread(stack.down, ["kafka"], dependents=False)
        try:
            # Checkouts go on meanwhile: orders needs only Cassandra to take them. One
            # placed now must be accepted while Kafka is away (however many of the
            # others were accepted before it stopped), and the outage lasts a few
            # seconds at least.
            witness = one_more()
            await asyncio.sleep(KAFKA_OUTAGE_SECONDS)
            await asyncio.wait({witness}, timeout=POST_SECONDS)
            assert witness.done(), "no checkout accepted while Kafka was down"
        finally:
            stack.up(["kafka"])  # on the loop's thread (restarting_stack says why)

    await _crash_during_checkouts(processes, process_shop, auth_server.url, outage, seed=33)
