"""Client spans of Redis, Cassandra, httpx and Kafka calls of a request, in the real Jaeger."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from fastapi import APIRouter, FastAPI, Request
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from devstack.components.cassandra import Cassandra
from devstack.components.jaeger import Jaeger
from devstack.components.kafka import Kafka
from devstack.components.redis import Redis
from productstore_common.app import create_app
from productstore_common.cassandra import CassandraSession
from productstore_common.events.kafka import ensure_topics
from productstore_common.events.outbox import OutboxRow
from productstore_common.events.publisher import OutboxPublisher
from productstore_common.redis_reader import RedisReader
from productstore_common.settings import ServiceSettings
from productstore_common.telemetry.tracing import context_from_kafka_headers, inject_context
from tests.common.cassandra.support import connect
from tests.common.test_tracing import _find_trace, sampled_flag
from tests.common.tinyapp import VERSION, capture_spans, serve

pytestmark = pytest.mark.anyio

CQL = "SELECT release_version FROM system.local WHERE key = ?"
ROUTE_SPAN = "GET /work"


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.seen_traceparent = self.headers.get("traceparent")  # type: ignore[attr-defined]
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the test output is not the place for access logs."""


@pytest.fixture
def loopback() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.seen_traceparent = None  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def db(cassandra: Cassandra) -> Iterator[CassandraSession]:
    session = connect(cassandra)
    try:
        yield session
    finally:
        session.close()


router = APIRouter()


@router.get("/work")
async def work(request: Request) -> dict[str, Any]:
    state = request.app.state
    cached = await state.redis.get(state.redis_key)
    page = await state.db.execute_async(CQL, ("local",))
    async with httpx.AsyncClient() as client:
        answer = await client.get(state.loopback_url)
    # What an outbox write stores for the relay: the request's trace context.
    trace_context: dict[str, str] = {}
    inject_context(trace_context)
    return {
        "cached": cached,
        "release": page.one().release_version,
        "answer": answer.text,
        "trace_context": trace_context,
    }


async def publish_and_read_back(
    kafka: Kafka, topic: str, app: FastAPI, trace_context: dict[str, str]
) -> Any:
    """Publish an event as the outbox relay does (its PRODUCER span continues the
    request's trace), then read the record back from Kafka."""
    publisher = OutboxPublisher(
        kafka.bootstrap_servers,
        client_id=f"pstest-{uuid.uuid4().hex[:8]}",
        tracer=app.state.tracer_provider.get_tracer("tests"),
        publish_timeout=30.0,
        close_timeout=10.0,
    )
    event_id = uuid.uuid4()
    row = OutboxRow(
        shard=0,
        bucket=0,
        outbox_time=uuid.uuid1(),
        event_id=event_id,
        event_type="io.productstore.test.worked",
        topic=topic,
        key="thing-1",
        envelope=json.dumps({"id": str(event_id)}),
        trace_context=trace_context,
    )
    await publisher.start()
    try:
        await publisher.publish(row)
    finally:
        await publisher.close()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=30_000, max_records=1)
    finally:
        await consumer.stop()
    (record,) = [record for records in batches.values() for record in records]
    return record


@dataclass(frozen=True)
class Backends:
    """The servers the route calls."""

    db: CassandraSession
    redis: aioredis.Redis
    loopback: ThreadingHTTPServer


@pytest.fixture
def backends(
    db: CassandraSession, redis_client: aioredis.Redis, loopback: ThreadingHTTPServer
) -> Backends:
    return Backends(db, redis_client, loopback)


def work_app(service: str, endpoint: str, *, ratio: float, backends: Backends) -> FastAPI:
    settings = ServiceSettings(
        environment="test", service_name=service, otlp_endpoint=endpoint, trace_sample_ratio=ratio
    )
    app = create_app(settings, title="Work", version=VERSION, routers=[router])
    app.state.db, app.state.redis = backends.db, backends.redis
    app.state.redis_key = f"pstest:{uuid.uuid4().hex}"
    app.state.loopback_url = f"http://127.0.0.1:{backends.loopback.server_address[1]}/hello"
    return app


def _tags(span: dict[str, Any]) -> dict[str, Any]:
    return {tag["key"]: tag["value"] for tag in span["tags"]}


def _parent_id(span: dict[str, Any]) -> str | None:
    for reference in span["references"]:
        if reference["refType"] == "CHILD_OF":
            parent: str = reference["spanID"]
            return parent
    return None


@pytest.fixture
async def topic(kafka: Kafka) -> AsyncIterator[str]:
    name = f"pstest-tracing-{uuid.uuid4().hex[:12]}"
    await ensure_topics(kafka.bootstrap_servers, [name], partitions=1)
    try:
        yield name
    finally:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
        await admin.start()
        try:
            await admin.delete_topics([name])
        finally:
            await admin.close()


async def test_client_spans_reach_jaeger_as_children_of_the_request(
    jaeger: Jaeger,
    kafka: Kafka,
    topic: str,
    backends: Backends,
) -> None:
    service = f"pstest-{uuid.uuid4().hex[:12]}"
    app = work_app(
        service,
        jaeger.otlp_http_endpoint,
        ratio=1.0,
        backends=backends,
    )
    async with serve(app) as client:
        response = await client.get(
            "/work", headers={"traceparent": f"00-{uuid.uuid4().hex}-00f067aa0ba902b7-01"}
        )
        assert response.status_code == 200, response.text
        record = await publish_and_read_back(kafka, topic, app, response.json()["trace_context"])
    trace_id = response.headers["traceresponse"].split("-")[1]
    found = _find_trace(jaeger, service, trace_id)
    (server,) = [span for span in found["spans"] if span["operationName"] == ROUTE_SPAN]
    children = [span for span in found["spans"] if span is not server]
    # Redis and httpx both name their span "GET": tell them apart by their attributes.
    (redis_span,) = [s for s in children if _db_system(s) == "redis"]
    (cql_span,) = [s for s in children if _db_system(s) == "cassandra"]
    (http_span,) = [s for s in children if "http.request.method" in _tags(s)]
    for span in (redis_span, cql_span, http_span):
        assert _parent_id(span) == server["spanID"]
        assert _tags(span)["span.kind"] == "client"
    assert redis_span["operationName"] == "GET"
    assert cql_span["operationName"] == "SELECT system"
    cql = _tags(cql_span)
    assert cql["db.namespace"] == "system"
    assert cql["db.operation.name"] == "SELECT"
    assert cql["db.query.text"] == CQL  # the prepared text: the bound value is not recorded
    assert cql["db.response.returned_rows"] == 1
    assert _tags(redis_span)["db.query.text"] == "GET ?"  # the key is not recorded
    assert _tags(http_span)["http.response.status_code"] == 200
    # httpx carried the trace on to the called server, as its own span's child.
    assert backends.loopback.seen_traceparent == f"00-{trace_id}-{http_span['spanID']}-01"  # type: ignore[attr-defined]
    # The relay's PRODUCER span continues the request's trace, and the record
    # carries it on: a consumer's span (`context_from_kafka_headers`) is its child.
    (send_span,) = [s for s in children if s["operationName"] == f"send {topic}"]
    assert _parent_id(send_span) == server["spanID"]
    assert _tags(send_span)["span.kind"] == "producer"
    assert _tags(send_span)["messaging.destination.name"] == topic
    carried = trace.get_current_span(context_from_kafka_headers(record.headers))
    assert f"{carried.get_span_context().trace_id:032x}" == trace_id
    assert f"{carried.get_span_context().span_id:016x}" == send_span["spanID"]


def _db_system(span: dict[str, Any]) -> Any:
    return _tags(span).get("db.system.name")


async def test_unsampled_request_makes_no_client_spans(
    jaeger: Jaeger,
    backends: Backends,
) -> None:
    app = work_app(
        f"pstest-{uuid.uuid4().hex[:12]}",
        jaeger.otlp_http_endpoint,
        ratio=0.0,
        backends=backends,
    )
    exporter = capture_spans(app)
    async with serve(app) as client:
        response = await client.get("/work")
    assert response.status_code == 200, response.text
    assert not sampled_flag(response.headers["traceresponse"])
    assert exporter.get_finished_spans() == ()
    # The called server still learns that the trace is not sampled.
    trace_id = response.headers["traceresponse"].split("-")[1]
    seen: str = backends.loopback.seen_traceparent  # type: ignore[attr-defined]
    assert seen.startswith(f"00-{trace_id}-")
    assert not sampled_flag(seen)


async def test_calls_outside_a_request_make_no_spans(
    jaeger: Jaeger,
    backends: Backends,
) -> None:
    """Pollers and probes (no request span around them) make no one-span root traces."""
    app = work_app(
        f"pstest-{uuid.uuid4().hex[:12]}",
        jaeger.otlp_http_endpoint,
        ratio=1.0,
        backends=backends,
    )
    exporter = capture_spans(app)
    async with serve(app) as client:
        await backends.redis.get(app.state.redis_key)
        assert (await backends.db.execute_async(CQL, ("local",))).one() is not None
        async with httpx.AsyncClient() as plain:
            assert (await plain.get(app.state.loopback_url)).status_code == 200
        # The same calls inside a request are traced: the exporter does work.
        assert (await client.get("/work")).status_code == 200
    names = sorted(span.name for span in exporter.get_finished_spans())
    assert names == ["GET", "GET", ROUTE_SPAN, "SELECT system"]


reader_router = APIRouter()


@reader_router.get("/read")
async def read(request: Request) -> dict[str, bool]:
    state = request.app.state
    await state.traced_reader.get(state.redis_key)
    await state.untraced_reader.get(state.redis_key)
    return {"read": True}


async def test_redis_reader_commands_are_client_spans_unless_untraced(
    jaeger: Jaeger, redis_server: Redis
) -> None:
    settings = ServiceSettings(
        environment="test",
        service_name=f"pstest-{uuid.uuid4().hex[:12]}",
        otlp_endpoint=jaeger.otlp_http_endpoint,
        trace_sample_ratio=1.0,
    )
    app = create_app(settings, title="Read", version=VERSION, routers=[reader_router])
    url = redis_server.env()["REDIS_URL"]
    app.state.traced_reader = RedisReader(url)
    app.state.untraced_reader = RedisReader(url, traced=False)
    app.state.redis_key = f"pstest:{uuid.uuid4().hex}"
    exporter = capture_spans(app)
    try:
        async with serve(app) as client:
            assert (await client.get("/read")).status_code == 200
    finally:
        await app.state.traced_reader.aclose()
        await app.state.untraced_reader.aclose()
    spans = exporter.get_finished_spans()
    (server,) = [span for span in spans if span.kind == SpanKind.SERVER]
    clients = [span for span in spans if span.kind == SpanKind.CLIENT]
    assert [(span.name, dict(span.attributes or {})) for span in clients] == [
        ("GET", {"db.system.name": "redis", "db.operation.name": "GET"})
    ]
    assert clients[0].parent is not None
    assert clients[0].parent.span_id == server.context.span_id
