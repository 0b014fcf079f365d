"""One trace per checkout across Kafka, found in devstack's Jaeger: the gateway (nginx,
devstack's config) → orders → its outbox → Kafka → inventory → its outbox → Kafka →
orders (paid) → Kafka → inventory (sold). The orders and inventory of this module
export their spans to Jaeger under service names of their own."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.components.jaeger import Jaeger
from productstore_contracts.services import ORDERS
from productstore_orders.app.core.config import OrdersSettings
from productstore_orders.app.main import create_app
from tests.catalog.support import Tokens, serve_in_thread
from tests.orders.support import Backing, Shop, bearer, checkout_body, wait_status
from tests.support.gateway import private_gateway
from tools.trace_report.__main__ import build_report
from tools.trace_report.analysis import parent_of as _parent

pytestmark = pytest.mark.anyio

SUFFIX = uuid.uuid4().hex[:8]
ORDERS_SERVICE = f"orders-trace-{SUFFIX}"
INVENTORY_SERVICE = f"inventory-trace-{SUFFIX}"
TRACE_DEADLINE_SECONDS = 60.0


@pytest.fixture(scope="module")
def inventory_overrides(jaeger: Jaeger) -> dict[str, object]:
    return {"service_name": INVENTORY_SERVICE, "otlp_endpoint": jaeger.otlp_http_endpoint}


@pytest.fixture(scope="module")
def overrides(jaeger: Jaeger) -> dict[str, object]:
    return {"service_name": ORDERS_SERVICE, "otlp_endpoint": jaeger.otlp_http_endpoint}


def _spans(jaeger: Jaeger, trace_id: str, done: Any) -> list[dict[str, Any]]:
    """The trace's spans (service name added to each) once `done(spans)` holds."""
    deadline = time.monotonic() + TRACE_DEADLINE_SECONDS
    spans: list[dict[str, Any]] = []
    with httpx.Client(base_url=jaeger.query_url, timeout=5) as client:
        while time.monotonic() < deadline:
            response = client.get(f"/api/traces/{trace_id}")
            if response.status_code == 200:
                (found,) = response.json()["data"]
                spans = [
                    {**span, "service": found["processes"][span["processID"]]["serviceName"]}
                    for span in found["spans"]
                ]
                if done(spans):
                    return spans
            time.sleep(0.5)
    names = sorted(f"{span['service']}: {span['operationName']}" for span in spans)
    raise AssertionError(f"trace {trace_id} incomplete after {TRACE_DEADLINE_SECONDS}s: {names}")


def _ancestors_arrived(spans: list[dict[str, Any]]) -> bool:
    """Whether every Kafka span's parents, up to a span whose parent is outside the trace's
    services (the client's), have reached Jaeger. Each service exports in its own batches,
    so a `process` span can arrive before the `send` it hangs under."""
    by_id = {span["spanID"]: span for span in spans}
    roots = [s for s in spans if s["operationName"] == "POST /api/orders"]
    if len(roots) != 1:
        return False
    for span in spans:
        if _tags(span).get("messaging.system") != "kafka":
            continue
        current = span
        for _ in spans:
            if current is roots[0]:
                break
            parent_id = _parent(current)
            if parent_id not in by_id:
                return False
            current = by_id[parent_id]
    return True


def _tags(span: dict[str, Any]) -> dict[str, Any]:
    return {tag["key"]: tag["value"] for tag in span["tags"]}


async def test_a_checkout_is_one_trace_across_kafka(
    *,
    tmp_path: Path,
    settings: OrdersSettings,
    backing: Backing,
    tokens: Tokens,
    shop: Shop,
    jaeger: Jaeger,
) -> None:
    product = await shop.product(price="4.50", stock=3)
    # The client's own trace context, as a browser with OpenTelemetry would send it.
    client_trace, client_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    with serve_in_thread(create_app(settings)) as url:
        port = int(url.rsplit(":", 1)[1])
        with private_gateway(tmp_path, "orders", port, ORDERS.route_prefixes) as gateway:
            async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
                put = await http.put(
                    f"/api/cart/items/{product}", json={"quantity": 1}, headers=bearer(tokens.user)
                )
                assert put.status_code == 200, put.text
                headers = {
                    **bearer(tokens.user),
                    "Idempotency-Key": uuid.uuid4().hex,
                    "traceparent": f"00-{client_trace}-{client_span}-01",
                }
                placed = await http.post("/api/orders", json=checkout_body(None), headers=headers)
                assert placed.status_code == 202, placed.text
                await wait_status(http, tokens.user, placed.json()["id"], "paid")
        await shop.wait_stock(product, on_hand=2, reserved=0)
    # Without a traceparent the service started a trace; with one, it joined the client's.
    started_trace = put.headers["traceresponse"].split("-")[1]
    assert started_trace != client_trace
    assert placed.headers["traceresponse"].split("-")[1] == client_trace
    # The gateway's log line names the trace of each request.
    access_log = (tmp_path / "nginx" / "logs" / "access.log").read_text()
    assert f"trace={started_trace}" in access_log
    assert f"trace={client_trace}" in access_log

    orders_topic, inventory_topic = backing.orders_topic, backing.inventory_topic
    expected = {
        (ORDERS_SERVICE, "POST /api/orders", "server"),
        (ORDERS_SERVICE, f"send {orders_topic}", "producer"),  # OrderPlaced, OrderPaid
        (INVENTORY_SERVICE, f"process {orders_topic}", "consumer"),
        (INVENTORY_SERVICE, f"send {inventory_topic}", "producer"),  # StockReserved, ...
        (ORDERS_SERVICE, f"process {inventory_topic}", "consumer"),
    }

    def complete(spans: list[dict[str, Any]]) -> bool:
        seen = {(s["service"], s["operationName"], _tags(s).get("span.kind")) for s in spans}
        names = Counter(s["operationName"] for s in spans)
        # OrderPlaced and OrderPaid: two sends by orders, both handled by inventory.
        return (
            expected <= seen
            and names[f"send {orders_topic}"] >= 2
            and names[f"process {orders_topic}"] >= 2
            and _ancestors_arrived(spans)
        )

    spans = _spans(jaeger, client_trace, complete)
    by_id = {span["spanID"]: span for span in spans}
    (server,) = [s for s in spans if s["operationName"] == "POST /api/orders"]
    assert _parent(server) == client_span  # the client's span, which Jaeger never saw
    messaging = [s for s in spans if _tags(s).get("messaging.system") == "kafka"]
    for span in messaging:
        # Each hop's parent is in this trace: a send under the work that wrote the
        # event, a process under the send of the record it handles, up to the request.
        chain, current = [], span
        while current is not server:
            parent_id = _parent(current)
            assert parent_id in by_id, f"{current['operationName']} has no parent here"
            current = by_id[parent_id]
            chain.append(current["operationName"])
            assert len(chain) < len(spans), "a cycle of parents"
        if _tags(span)["messaging.operation.type"] == "process":
            parent = by_id[_parent(span) or ""]
            assert parent["operationName"] == f"send {_tags(span)['messaging.destination.name']}"
            assert parent["service"] != span["service"]
    # The order's way: orders -> Kafka -> inventory -> Kafka -> orders -> Kafka -> inventory.
    # The first handling of OrderPaid (a redelivery would be a second, duplicate one).
    paid_process = min(
        (
            s
            for s in spans
            if s["operationName"] == f"process {orders_topic}"
            and _tags(s).get("cloudevents.event_type", "").endswith("OrderPaid.v1")
        ),
        key=lambda s: s["startTime"],
    )
    hops = []
    current = paid_process
    while current is not server:
        if _tags(current).get("messaging.system") == "kafka":
            hops.append((current["service"], _tags(current)["messaging.operation.type"]))
        current = by_id[_parent(current) or ""]
    assert hops[::-1] == [
        (ORDERS_SERVICE, "send"),
        (INVENTORY_SERVICE, "process"),
        (INVENTORY_SERVICE, "send"),
        (ORDERS_SERVICE, "process"),
        (ORDERS_SERVICE, "send"),
        (INVENTORY_SERVICE, "process"),
    ]

    # The trace report reads the same trace: its endpoint, with inventory's share of
    # the critical path.
    report = build_report(
        jaeger.query_url, [ORDERS_SERVICE, INVENTORY_SERVICE], lookback="1h", limit=1000, slowest=3
    )
    (row,) = [
        r for r in report["endpoints"] if r["endpoint"] == f"{ORDERS_SERVICE}: POST /api/orders"
    ]
    assert row["traces"] == 1
    assert row["spans_per_trace"] >= len(spans)
    assert {ORDERS_SERVICE, INVENTORY_SERVICE} <= set(row["critical_path_share"])
