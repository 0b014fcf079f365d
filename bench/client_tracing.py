"""Cost of client tracing (Redis, Cassandra) for an unsampled request.

    .venv/bin/python bench/client_tracing.py

Inside an unsampled request span (`TRACE_SAMPLE_RATIO=0`, what most production
requests are), measures: the instrumentation's own work per call with the network
taken out (the redis-py wrapper around a no-op command, our Cassandra span), and a
real Redis GET and CQL read on devstack's servers with client tracing installed and
uninstalled, in alternating rounds (best round kept: the machine is shared).
Needs Redis on 127.0.0.1:6379 and Cassandra on 127.0.0.1:9042; reads only (a GET of
a key that does not exist, `system.local`), leaves nothing behind.

Output: JSON on stdout and in bench/results/client-tracing.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.redis import _async_traced_execute_factory
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind

from devstack import cassandra_auth
from devstack.paths import Paths
from productstore_common.cassandra import CassandraSession
from productstore_common.telemetry.clients import (
    CLIENT_TRACER_PROVIDER,
    client_tracer,
    install_client_tracing,
    uninstall_client_tracing,
)

RESULTS = Path(__file__).parent / "results" / "client-tracing.json"
CQL = "SELECT release_version FROM system.local WHERE key = ?"
ROUNDS = 5


async def _best_us(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(calls):
            await call()
        best = min(best, (time.perf_counter() - started) / calls * 1e6)
    return round(best, 3)


async def _noop(*_: Any) -> None:
    return None


async def main() -> dict[str, Any]:
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.0)))
    redis = aioredis.Redis.from_url("redis://127.0.0.1:6379/0")
    # devstack's superuser: the node checks passwords.
    login = cassandra_auth.superuser(Paths.from_env())
    db = CassandraSession.connect(
        contact_points=["127.0.0.1"],
        local_dc="datacenter1",
        username=login.username,
        password=login.password,
        consistency="ONE",
    )
    request = provider.get_tracer("bench").start_span("request")
    token = otel_context.attach(trace.set_span_in_context(request))
    result: dict[str, Any] = {"load_average": os.getloadavg()}
    try:
        install_client_tracing(provider)
        wrapper = _async_traced_execute_factory(CLIENT_TRACER_PROVIDER.get_tracer("redis"), None)
        tracer = client_tracer("bench")

        async def cql_span_only() -> None:
            tracer.start_span("CQL", kind=SpanKind.CLIENT).end()

        result["noop_await_us"] = await _best_us(lambda: _noop("GET", "k"), 100_000)
        result["redis_wrapper_around_noop_us"] = await _best_us(
            lambda: wrapper(_noop, redis, ("GET", "k"), {}), 100_000
        )
        result["cassandra_span_us"] = await _best_us(cql_span_only, 100_000)

        async def redis_get() -> None:
            await redis.get("bench:client-tracing:absent")

        async def cql_read() -> None:
            await db.execute_async(CQL, ("local",))

        for name, call, calls in (("redis_get", redis_get, 2000), ("cql_read", cql_read, 500)):
            on, off = float("inf"), float("inf")
            for _ in range(3):
                uninstall_client_tracing()
                off = min(off, await _best_us(call, calls))
                install_client_tracing(provider)
                on = min(on, await _best_us(call, calls))
            result[f"{name}_us_untraced"], result[f"{name}_us_traced_unsampled"] = off, on
    finally:
        otel_context.detach(token)
        uninstall_client_tracing()
        await redis.aclose()
        db.close()
    return result


if __name__ == "__main__":
    report = asyncio.run(main())
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
