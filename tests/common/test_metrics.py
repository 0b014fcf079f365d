"""RED metrics labelled by route template, business metrics, and /metrics."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI

from productstore_common.app import create_app
from productstore_common.telemetry.metrics import (
    UNMATCHED_ROUTE,
    AppMetrics,
    metrics_of,
)
from productstore_contracts.metrics import LATENCY_BUCKETS, bucket_label
from tests.common.tinyapp import build_app, serve, settings
from tests.support.metrics import Scrape, labels, scrape

pytestmark = pytest.mark.anyio


async def scrape_app(app: FastAPI) -> Scrape:
    async with serve(app) as client:
        return await scrape(client)


async def test_requests_are_labelled_by_route_template() -> None:
    app = build_app()
    service = metrics_of(app).service
    async with serve(app) as client:
        for thing_id in (1, 2, 3):
            assert (await client.get(f"/api/things/{thing_id}")).status_code == 200
        assert (await client.get("/api/things/404")).status_code == 404
        assert (await client.post("/api/things", json={"name": "a", "price": 2})).status_code == 201
        assert (await client.get("/api/things/7/crash")).status_code == 500
        exported = await scrape(client)

    requests = exported.series("http_requests_total")
    one = "/api/things/{thing_id}"
    assert requests[labels(service=service, method="GET", route=one, status="200")] == 3
    assert requests[labels(service=service, method="GET", route=one, status="404")] == 1
    assert requests[labels(service=service, method="POST", route="/api/things", status="201")] == 1
    crash = "/api/things/{thing_id}/crash"
    assert requests[labels(service=service, method="GET", route=crash, status="500")] == 1
    assert not any("/api/things/1" in dict(key)["route"] for key in requests)

    durations = exported.series("http_request_duration_seconds_count")
    assert durations[labels(service=service, method="GET", route=one)] == 4
    buckets = exported.series("http_request_duration_seconds_bucket")
    bounds = {dict(key)["le"] for key in buckets if dict(key)["route"] == one}
    # Exactly the contracts' bounds, written as the operator's latency SLO rules match them.
    assert bounds == {bucket_label(bound) for bound in LATENCY_BUCKETS} | {"+Inf"}
    assert "0.2" in bounds  # the default latency objective's threshold


async def test_unmatched_paths_share_one_label() -> None:
    app = build_app()
    async with serve(app) as client:
        for path in ("/wp-admin", "/.env", "/api/things/1/2/3/4"):
            assert (await client.get(path)).status_code == 404
        assert (await client.request("BREW", "/api/things/1")).status_code == 405
        exported = await scrape(client)
    requests = exported.series("http_requests_total")
    routes = {dict(key)["route"] for key in requests}
    assert routes == {UNMATCHED_ROUTE, "/api/things/{thing_id}"}
    unmatched = [value for key, value in requests.items() if dict(key)["route"] == UNMATCHED_ROUTE]
    assert unmatched == [3]
    methods = {dict(key)["method"] for key in requests}
    assert methods == {"GET", "OTHER"}


async def test_included_router_prefixes_are_in_the_label() -> None:
    inner = APIRouter(prefix="/things")

    @inner.get("/{thing_id}")
    async def read(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    outer = APIRouter(prefix="/v1")
    outer.include_router(inner)
    app = create_app(settings(), title="Nested", version="1", routers=[outer])
    async with serve(app) as client:
        assert (await client.get("/v1/things/5")).status_code == 200
        exported = await scrape(client)
    routes = {dict(key)["route"] for key in exported.series("http_requests_total")}
    assert routes == {"/v1/things/{thing_id}"}


async def test_in_flight_gauge_returns_to_zero() -> None:
    app = build_app()
    async with serve(app) as client:
        await client.get("/api/things/1")
        await client.post("/api/things", json={"name": "a", "price": 2})
        exported = await scrape(client)
    in_flight = exported.series("http_requests_in_flight")
    service = metrics_of(app).service
    assert in_flight[labels(service=service, method="POST")] == 0
    # The scrape itself is the one GET in flight.
    assert in_flight[labels(service=service, method="GET")] == 1


async def test_business_metrics_are_exposed() -> None:
    app = build_app()
    metrics = metrics_of(app)
    placed = metrics.counter("orders_placed_total", "Orders placed.", ("currency",))
    assert metrics.counter("orders_placed_total", "Orders placed.", ("currency",)) is placed
    basket = metrics.histogram(
        "order_value", "Order value.", ("currency",), buckets=(10, 100, 1000)
    )
    stock = metrics.gauge("low_stock_products", "Products under their threshold.")
    placed.labels("EUR").inc(2)
    basket.labels("EUR").observe(42)
    stock.set(7)

    exported = await scrape_app(app)
    assert exported.series("orders_placed_total") == {labels(currency="EUR"): 2}
    assert exported.series("order_value_bucket")[labels(currency="EUR", le="100.0")] == 1
    assert exported.series("low_stock_products") == {(): 7}
    assert exported.series("process_resident_memory_bytes")


def test_a_name_reused_with_another_kind_or_labels_is_refused() -> None:
    metrics = AppMetrics("svc", process_metrics=False)
    metrics.counter("events_total", "Events.", ("kind",))
    with pytest.raises(ValueError, match="already exists as a Counter"):
        metrics.gauge("events_total", "Events.", ("kind",))
    with pytest.raises(ValueError, match=r"labels \['kind'\]"):
        metrics.counter("events_total", "Events.", ("type",))


async def test_each_app_has_its_own_registry() -> None:
    first, second = build_app(), build_app()
    async with serve(first) as client:
        await client.get("/api/things/1")
    exported = await scrape_app(second)
    # A request is counted once answered, so the scrape does not count itself yet:
    # the first app's request is the only one that could show up here.
    assert exported.series("http_requests_total") == {}
    in_flight = exported.series("http_requests_in_flight")
    assert in_flight == {labels(service=metrics_of(second).service, method="GET"): 1}


def test_metrics_of_an_app_not_built_with_create_app() -> None:
    with pytest.raises(RuntimeError, match="create_app"):
        metrics_of(FastAPI())
