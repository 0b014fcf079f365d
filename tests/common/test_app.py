"""create_app: request ids, gzip, OpenAPI metadata, lifespan hooks, tracing shutdown."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import SpanProcessor

from productstore_common.app import Lifespan
from tests.common.tinyapp import VERSION, build_app, serve, settings

pytestmark = pytest.mark.anyio

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("edge-1f3a:9", True),
        ("0af7651916cd43dd8448eb211c80319c", True),
        ("has spaces", False),
        ("x" * 129, False),
        ("", False),
        ("<script>", False),
    ],
)
async def test_request_id_in_and_out(incoming: str, kept: bool) -> None:
    async with serve(build_app()) as client:
        response = await client.get("/api/things/1", headers={"X-Request-ID": incoming})
    request_id = response.headers["x-request-id"]
    if kept:
        assert request_id == incoming
    else:
        assert GENERATED_ID.match(request_id)


async def test_request_id_is_made_when_absent_and_differs_per_request() -> None:
    async with serve(build_app()) as client:
        ids = {(await client.get("/healthz")).headers["x-request-id"] for _ in range(3)}
        problem = await client.get("/missing")
    assert len(ids) == 3
    assert all(GENERATED_ID.match(request_id) for request_id in ids)
    assert GENERATED_ID.match(problem.headers["x-request-id"])


async def test_large_responses_are_gzipped() -> None:
    async with serve(build_app()) as client:
        large = await client.get("/api/things", params={"limit": 100})
        small = await client.get("/api/things/1")
    assert large.headers["content-encoding"] == "gzip"
    assert large.headers["vary"] == "Accept-Encoding"
    assert len(large.json()) == 100
    assert "content-encoding" not in small.headers


async def test_clients_not_asking_for_gzip_get_the_body_as_it_is() -> None:
    async with serve(build_app()) as client:
        plain = await client.get(
            "/api/things", params={"limit": 100}, headers={"Accept-Encoding": "identity"}
        )
        gzipped = await client.get("/api/things", params={"limit": 100})
    assert "content-encoding" not in plain.headers
    assert plain.json() == gzipped.json()
    assert int(plain.headers["content-length"]) == len(plain.content)


async def test_openapi_metadata() -> None:
    async with serve(build_app()) as client:
        document = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    assert document["info"] == {
        "title": "Tiny",
        "version": VERSION,
        "description": "A tiny service for tests.",
    }
    assert document["tags"] == [{"name": "things", "description": "Things to buy."}]
    assert "/api/things/{thing_id}" in document["paths"]
    # Operational endpoints are for probes and Prometheus, not API clients.
    assert not {"/healthz", "/readyz", "/metrics"} & set(document["paths"])
    assert docs.status_code == 200


async def test_lifespan_hooks_run_in_order_and_unwind_in_reverse() -> None:
    events: list[str] = []

    def hook(name: str) -> Lifespan:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            events.append(f"start {name} {app.title}")
            yield
            events.append(f"stop {name}")

        return lifespan

    app = build_app(lifespans=(hook("cassandra"), hook("kafka")))
    async with serve(app) as client:
        events.append("serving")
        assert (await client.get("/healthz")).status_code == 200
    assert events == [
        "start cassandra Tiny",
        "start kafka Tiny",
        "serving",
        "stop kafka",
        "stop cassandra",
    ]


async def test_failing_start_unwinds_the_hooks_that_started() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def cassandra(app: FastAPI) -> AsyncIterator[None]:
        events.append("start cassandra")
        try:
            yield
        finally:
            events.append("stop cassandra")

    @asynccontextmanager
    async def kafka(app: FastAPI) -> AsyncIterator[None]:
        if app.title:  # always: a bare raise would make the yield unreachable
            raise ConnectionError("kafka unreachable")
        yield

    app = build_app(lifespans=(cassandra, kafka))
    with pytest.raises(ConnectionError, match="kafka unreachable"):
        async with serve(app):
            pass
    assert events == ["start cassandra", "stop cassandra"]


class ShutdownRecorder(SpanProcessor):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def shutdown(self) -> None:
        self.calls.append("shutdown")


async def test_tracing_is_flushed_and_stopped_at_shutdown() -> None:
    app = build_app()
    recorder = ShutdownRecorder()
    app.state.tracer_provider.add_span_processor(recorder)
    async with serve(app) as client:
        await client.get("/api/things/1")
        assert recorder.calls == []
    assert recorder.calls == ["shutdown"]


def test_app_state_holds_the_wiring() -> None:
    service_settings = settings(log_level="WARNING")
    app = build_app(service_settings)
    assert app.state.settings is service_settings
    assert app.state.metrics.service == service_settings.service_name
    resource = app.state.tracer_provider.resource.attributes
    assert resource["service.name"] == service_settings.service_name
    assert resource["deployment.environment.name"] == "test"
