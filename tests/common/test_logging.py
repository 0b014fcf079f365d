"""JSON log lines that carry the active span's ids and the request id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from productstore_common.telemetry.logs import JsonFormatter, configure_logging
from tests.common.tinyapp import build_app, serve, uvicorn_process

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """configure_logging changes the process's root logger; put it back after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


async def test_log_lines_carry_trace_span_and_request_ids() -> None:
    app = build_app()
    stream = io.StringIO()
    configure_logging(app.state.settings.service_name, "INFO", stream=stream)
    async with serve(app) as client:
        response = await client.get("/api/things/3/log", headers={"X-Request-ID": "req-42"})
    ids = response.json()
    (entry,) = [e for e in lines(stream) if e["message"] == "looked at thing 3"]
    assert entry["trace_id"] == ids["trace_id"]
    assert entry["span_id"] == ids["span_id"]
    assert entry["request_id"] == "req-42"
    assert entry["thing_id"] == 3
    assert entry["level"] == "INFO"
    assert entry["logger"] == "tests.tinyapp"
    assert entry["service"] == app.state.settings.service_name
    assert entry["ts"].endswith("+00:00")


async def test_unhandled_error_is_logged_with_traceback_and_ids() -> None:
    app = build_app()
    stream = io.StringIO()
    configure_logging(app.state.settings.service_name, "INFO", stream=stream)
    async with serve(app) as client:
        response = await client.get("/api/things/3/crash")
    body = response.json()
    (entry,) = [e for e in lines(stream) if e["level"] == "ERROR"]
    assert entry["message"] == "unhandled RuntimeError on GET /api/things/3/crash"
    assert entry["trace_id"] == body["trace_id"]
    assert entry["request_id"] == body["request_id"]
    assert "Traceback (most recent call last)" in entry["exception"]
    assert "secret internals" in entry["exception"]


def test_records_outside_a_request_have_no_ids() -> None:
    stream = io.StringIO()
    configure_logging("svc", "DEBUG", stream=stream)
    logging.getLogger("tests.plain").debug("hello %s", "world", extra={"attempt": 2})
    (entry,) = [e for e in lines(stream) if e["logger"] == "tests.plain"]
    assert entry == {
        "ts": entry["ts"],
        "level": "DEBUG",
        "logger": "tests.plain",
        "message": "hello world",
        "service": "svc",
        "attempt": 2,
    }


def test_configuring_again_replaces_only_our_handler() -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    try:
        first, second = io.StringIO(), io.StringIO()
        configure_logging("svc", "INFO", stream=first)
        configure_logging("svc", "INFO", stream=second)
        logging.getLogger("tests.again").info("once")
        assert first.getvalue() == ""
        assert [e["message"] for e in lines(second)] == ["once"]
        assert foreign in root.handlers
    finally:
        root.removeHandler(foreign)


def test_uvicorn_access_record_is_split_into_fields() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/things/1?x=1", "1.1", 200),
        None,
    )
    entry = json.loads(JsonFormatter("svc").format(record))
    assert entry["message"] == '127.0.0.1:5000 - "GET /api/things/1?x=1 HTTP/1.1" 200'
    assert entry["client"] == "127.0.0.1:5000"
    assert entry["method"] == "GET"
    assert entry["path"] == "/api/things/1?x=1"
    assert entry["status"] == 200


def _serve_and_log(env: dict[str, str]) -> tuple[list[dict[str, Any]], httpx.Response]:
    """Run tinyapp under uvicorn as a deployment would, request /api/things/5/log once;
    the process's log entries and the response."""
    with uvicorn_process(env) as served:
        response = httpx.get(
            f"{served.url}/api/things/5/log", headers={"X-Request-ID": "edge-7"}, timeout=5
        )
        assert response.status_code == 200
    assert served.stderr == ""
    return [json.loads(line) for line in served.stdout.splitlines() if line], response


def test_uvicorn_process_logs_only_json() -> None:
    """The whole process, uvicorn's own lines included, logs JSON to stdout; with
    access logs asked for, a line per request split into fields."""
    entries, response = _serve_and_log({"PRODUCTSTORE_ACCESS_LOG": "true"})
    messages = [entry["message"] for entry in entries if entry["logger"] == "uvicorn.error"]
    assert "Application startup complete." in messages
    (access,) = [
        entry
        for entry in entries
        if entry["logger"] == "uvicorn.access" and entry["path"] == "/api/things/5/log"
    ]
    assert access["method"] == "GET"
    assert access["status"] == 200
    assert access["request_id"] == "edge-7"
    assert access["trace_id"] == response.json()["trace_id"]


def test_no_access_log_unless_asked() -> None:
    """uvicorn writes access lines whenever its logger has a handler: ours must not
    give it one by default (the gateway logs requests; a line each cost ~15 % of a
    cached read)."""
    entries, _ = _serve_and_log({})
    assert not [entry for entry in entries if entry["logger"] == "uvicorn.access"]
    assert [entry for entry in entries if entry["logger"] == "uvicorn.error"]
    assert [entry for entry in entries if entry.get("request_id") == "edge-7"]  # the app's own
