"""A tiny service built with `create_app`, shared by the tests of the app core."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import redis.asyncio as redis
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel, Field

from productstore_common.app import Lifespan, create_app
from productstore_common.client_address import client_address
from productstore_common.errors import Problem
from productstore_common.health import ReadinessCheck
from productstore_common.ratelimit import client_ip
from productstore_common.settings import ServiceSettings

VERSION = "1.2.3"
REPO = Path(__file__).resolve().parents[2]
_logger = logging.getLogger("tests.tinyapp")


class ThingCreate(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    price: float = Field(gt=0)
    tags: list[str] = []


class Thing(ThingCreate):
    id: int


router = APIRouter(prefix="/api/things", tags=["things"])


@router.get("/{thing_id}", response_model=Thing)
async def read_thing(thing_id: int) -> Thing:
    if thing_id == 404:
        raise Problem(404, "Not Found", f"Thing {thing_id} does not exist.")
    return Thing(id=thing_id, name=f"thing {thing_id}", price=1.5)


@router.get("", response_model=list[Thing])
async def list_things(limit: Annotated[int, Query(ge=1, le=100)] = 10) -> list[Thing]:
    return [Thing(id=i, name=f"thing {i}", price=1.0) for i in range(limit)]


@router.post("", response_model=Thing, status_code=201)
async def create_thing(thing: ThingCreate) -> Thing:
    return Thing(id=1, **thing.model_dump())


@router.post("/{thing_id}/buy")
async def buy_thing(thing_id: int) -> None:
    raise Problem(
        409,
        "Out of stock",
        f"Thing {thing_id} is out of stock.",
        type="https://productstore.io/problems/out-of-stock",
        headers={"Retry-After": "30"},
        extra={"available": 0},
    )


@router.delete("/{thing_id}")
async def delete_thing(thing_id: int) -> None:
    raise HTTPException(403, "Only admins delete things.")


@router.put("/{thing_id}")
async def replace_thing(thing_id: int) -> None:
    raise HTTPException(400, detail={"reason": "frozen", "thing": thing_id})


@router.get("/{thing_id}/crash")
async def crash(thing_id: int) -> None:
    raise RuntimeError("secret internals: password=hunter2")


# Where the stock route finds Redis: nothing listens there unless a test says so.
STOCK_REDIS_URL = "TINY_STOCK_REDIS_URL"


@router.get("/{thing_id}/stock")
async def stock(thing_id: int) -> dict[str, Any]:
    """Reads a counter from a real Redis, with no error handling: an outage is the
    app's to answer (productstore_common.outages)."""
    url = os.environ.get(STOCK_REDIS_URL, "redis://127.0.0.1:1/0")
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        count = await client.get(f"tiny:stock:{thing_id}")
    finally:
        await client.aclose()
    return {"id": thing_id, "stock": int(count or 0)}


@router.get("/{thing_id}/log")
async def log_something(thing_id: int) -> dict[str, Any]:
    _logger.info("looked at thing %s", thing_id, extra={"thing_id": thing_id})
    context = trace.get_current_span().get_span_context()
    return {
        "trace_id": trace.format_trace_id(context.trace_id),
        "span_id": trace.format_span_id(context.span_id),
    }


who = APIRouter(prefix="/api/whoami")


@who.get("")
async def whoami(request: Request) -> dict[str, str]:
    """The client's address and rate-limit subject, as every service would key them."""
    return {"address": client_address(request), "subject": client_ip(request)}


def settings(**values: Any) -> ServiceSettings:
    values.setdefault("environment", "test")
    values.setdefault("service_name", f"tiny-{uuid.uuid4().hex[:8]}")
    return ServiceSettings(**values)


def build_app(
    service_settings: ServiceSettings | None = None,
    *,
    readiness_checks: dict[str, ReadinessCheck] | None = None,
    lifespans: tuple[Lifespan, ...] = (),
    readiness_timeout_seconds: float = 2.0,
) -> FastAPI:
    return create_app(
        service_settings or settings(),
        title="Tiny",
        version=VERSION,
        description="A tiny service for tests.",
        routers=[router, who],
        readiness_checks=readiness_checks,
        readiness_timeout_seconds=readiness_timeout_seconds,
        lifespans=lifespans,
        openapi_tags=[{"name": "things", "description": "Things to buy."}],
    )


def capture_spans(app: FastAPI) -> InMemorySpanExporter:
    """Finished spans of `app`, kept in memory for assertions."""
    exporter = InMemorySpanExporter()
    app.state.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` in this process, with the app's lifespan running."""
    # raise_app_exceptions=False: the client sees the 500 a real server would send.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://tiny.test") as client,
    ):
        yield client


def make_app() -> FastAPI:
    """App factory for `uvicorn --factory`, as a deployment would run it."""
    return build_app()


@dataclass
class UvicornProcess:
    """tinyapp under `uvicorn --factory` in a child process; its output once stopped."""

    url: str
    process: subprocess.Popen[str]
    stdout: str = ""
    stderr: str = ""


def _wait_until_serving(base_url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"uvicorn exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("uvicorn did not serve /healthz within 60s")


@contextmanager
def uvicorn_process(
    env: Mapping[str, str] | None = None, args: Sequence[str] = ()
) -> Iterator[UvicornProcess]:
    """`make_app` served by uvicorn as a deployment runs it (`args`: more of uvicorn's
    options), on a free loopback port (the socket is bound here and handed over, so no
    other process can take the port)."""
    # Files, not pipes: a pipe nobody reads while the test runs fills up (a few
    # logged tracebacks) and then blocks the server's logging, so it stops answering.
    with (
        tempfile.TemporaryFile("w+") as stdout,
        tempfile.TemporaryFile("w+") as stderr,
    ):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            port = sock.getsockname()[1]
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "tests.common.tinyapp:make_app",
                    "--factory",
                    "--fd",
                    str(sock.fileno()),
                    *args,
                ],
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
                pass_fds=[sock.fileno()],
                stdout=stdout,
                stderr=stderr,
                text=True,
            )
        served = UvicornProcess(f"http://127.0.0.1:{port}", process)
        try:
            _wait_until_serving(served.url, process)
            yield served
        finally:
            process.terminate()
            process.wait(timeout=30)
            stdout.seek(0)
            stderr.seek(0)
            served.stdout, served.stderr = stdout.read(), stderr.read()


def http_exchange(sock: socket.socket, path: str) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request on an open connection: status, headers, body (by length)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: tiny.test\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        assert chunk, f"the server closed the connection instead of answering {path}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines)}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection in the middle of a body"
        body += chunk
    return int(status_line.split()[1]), headers, body
