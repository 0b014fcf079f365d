"""/healthz is always cheap; /readyz runs every readiness check with a timeout."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI

from productstore_common.errors import PROBLEM_CONTENT_TYPE
from productstore_common.health import ReadinessCheck, ReadinessChecks, readiness_of
from tests.common.tinyapp import build_app, serve

pytestmark = pytest.mark.anyio


async def ok() -> None:
    return None


async def refused() -> None:
    raise ConnectionRefusedError(111, "Connection refused")


async def says_no() -> bool:
    return False


async def hangs() -> None:
    await asyncio.Event().wait()


async def test_healthz_runs_no_check() -> None:
    calls: list[str] = []

    async def counted() -> None:
        calls.append("ran")

    async with serve(build_app(readiness_checks={"cassandra": counted})) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert calls == []


async def test_readyz_ok_when_every_check_passes() -> None:
    app = build_app(readiness_checks={"cassandra": ok, "redis": ok})
    async with serve(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"cassandra", "redis"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert all(check["duration_ms"] >= 0 for check in body["checks"].values())


async def test_readyz_503_names_every_failing_check() -> None:
    checks: dict[str, ReadinessCheck] = {
        "cassandra": refused,
        "redis": ok,
        "kafka": hangs,
        "jwks": says_no,
    }
    app = build_app(readiness_checks=checks, readiness_timeout_seconds=0.2)
    async with serve(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    body: dict[str, Any] = response.json()
    assert body["title"] == "Service Unavailable"
    assert body["instance"] == "/readyz"
    assert body["detail"] == (
        "Not ready: cassandra (ConnectionRefusedError: [Errno 111] Connection refused); "
        "kafka (timed out after 0.2s); jwks (check returned False)"
    )
    assert body["checks"]["redis"]["status"] == "ok"
    assert {name for name, c in body["checks"].items() if c["status"] == "fail"} == {
        "cassandra",
        "kafka",
        "jwks",
    }


async def test_checks_run_concurrently() -> None:
    # Each check waits for the other: run one after the other, both would time out.
    barrier = asyncio.Barrier(2)

    async def meets_the_other() -> None:
        await barrier.wait()

    checks = ReadinessChecks({"a": meets_the_other, "b": meets_the_other}, timeout_seconds=5)
    results = await checks.run()
    assert {name: result["status"] for name, result in results.items()} == {"a": "ok", "b": "ok"}


async def test_checks_added_after_creation_count() -> None:
    app = build_app()
    readiness_of(app).add("search-index", refused)
    async with serve(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert "search-index (ConnectionRefusedError" in response.json()["detail"]


def test_check_names_are_unique() -> None:
    checks = ReadinessChecks({"cassandra": ok})
    with pytest.raises(ValueError, match="'cassandra' exists already"):
        checks.add("cassandra", ok)


def test_readiness_of_an_app_not_built_with_create_app() -> None:
    with pytest.raises(RuntimeError, match="create_app"):
        readiness_of(FastAPI())
