"""What the services' outage tests share: the 503 a dependency's outage answers, its
counter, and how long the service takes to answer again once the dependency is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI

from devstack.component import Context
from devstack.pytest_plugin import DevstackSession
from devstack.stack import Stack
from productstore_common.telemetry.metrics import metrics_of
from tests.support.problems import assert_problem


def assert_unavailable(
    response: httpx.Response, dependency: str, *, retry_after: int = 5
) -> dict[str, Any]:
    """The outage's 503: problem+json naming `dependency`, with Retry-After, no address."""
    body = assert_problem(response, 503, "dependency_unavailable")
    assert body["dependency"] == dependency, body
    assert response.headers["retry-after"] == str(retry_after)
    assert "127.0.0.1" not in response.text
    return body


def outage_count(app: FastAPI, dependency: str) -> float:
    """`dependency_unavailable_total` of `app` for `dependency`."""
    metrics = metrics_of(app)
    value = metrics.registry.get_sample_value(
        "dependency_unavailable_total", {"service": metrics.service, "dependency": dependency}
    )
    assert value is not None, "the outage counter has no series for " + dependency
    return value


async def seconds_until(
    request: Callable[[], Awaitable[httpx.Response]], status: int, *, timeout: float
) -> tuple[float, int]:
    """How long until `request` answers `status` (polled every 0.2 s), at most
    `timeout`, and how many answers were something else before."""
    started = time.monotonic()
    others = 0
    while True:
        response = await request()
        if response.status_code == status:
            return time.monotonic() - started, others
        others += 1
        elapsed = time.monotonic() - started
        assert elapsed < timeout, (
            f"still {response.status_code} after {elapsed:.1f} s: {response.text}"
        )
        await asyncio.sleep(0.2)


def restarting_stack(devstack: DevstackSession) -> Stack:
    """The stack to stop and start a shared server (Kafka) with, so that it ends as it
    began. Started by this test session: restart it tied to the session, which stops
    it at the end. Already running (``make up``): restart it untied, so it outlives
    the session as before. Call its ``up`` on the event loop's thread: a process tied
    to its parent dies with the *thread* that started it (PR_SET_PDEATHSIG), and
    ``asyncio.to_thread``'s worker exits with the loop."""
    if "kafka" in devstack.started:
        return devstack.stack
    return Stack(Context(paths=devstack.stack.ctx.paths, tie_to_parent=False))
