"""Rate limits against the real Redis: exact budgets, refill, atomicity, outages, and
the FastAPI dependency end to end (429 problems, Retry-After, RateLimit headers)."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Iterator

import pytest
import redis.asyncio as redis

from devstack.components.redis import Redis
from productstore_common.ratelimit import (
    Decision,
    RateLimit,
    RateLimiter,
    RateLimitUnavailableError,
)
from productstore_common.telemetry.metrics import AppMetrics

pytestmark = pytest.mark.anyio


class Clock:
    """Time that moves only when a test says so (seconds, like time.time)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def prefix() -> str:
    return f"ratelimit-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def metrics() -> AppMetrics:
    return AppMetrics("ratelimit-test", process_metrics=False)


@pytest.fixture
def limiter(
    redis_client: redis.Redis, prefix: str, clock: Clock, metrics: AppMetrics
) -> RateLimiter:
    return RateLimiter(redis_client, prefix=prefix, clock=clock, metrics=metrics)


def checks(metrics: AppMetrics, limit: str, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "rate_limit_checks_total", {"limit": limit, "outcome": outcome}
    )
    return value or 0.0


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the backlog) but never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


async def test_exact_budget_then_429_with_retry_after(limiter: RateLimiter) -> None:
    limit = RateLimit("orders", rate=5, per=60)
    decisions = [await limiter.check(limit, "ip:10.0.0.1") for _ in range(5)]
    assert [d.allowed for d in decisions] == [True] * 5
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0]
    assert decisions[-1].reset_after == 60.0  # an empty bucket refills in `per`

    rejected = await limiter.check(limit, "ip:10.0.0.1")
    assert rejected == Decision(
        allowed=False, limit=5, remaining=0, retry_after=12.0, reset_after=60.0
    )


async def test_budget_refills_with_time(limiter: RateLimiter, clock: Clock) -> None:
    limit = RateLimit("search", rate=2, per=1, burst=4)  # one every 0.5 s, 4 at once
    assert all([(await limiter.check(limit, "user:a")).allowed for _ in range(4)])
    rejected = await limiter.check(limit, "user:a")
    assert not rejected.allowed
    assert rejected.retry_after == 0.5

    clock.advance(0.499)
    assert not (await limiter.check(limit, "user:a")).allowed
    clock.advance(0.001)
    refilled = await limiter.check(limit, "user:a")
    assert refilled.allowed
    assert refilled.remaining == 0
    assert not (await limiter.check(limit, "user:a")).allowed

    clock.advance(60)  # long idle: a full burst again, never more
    results = [(await limiter.check(limit, "user:a")).allowed for _ in range(5)]
    assert results == [True, True, True, True, False]


async def test_subjects_and_limits_do_not_share_budgets(limiter: RateLimiter) -> None:
    reviews = RateLimit("reviews", rate=1, per=60)
    uploads = RateLimit("uploads", rate=1, per=60)
    assert (await limiter.check(reviews, "user:a")).allowed
    assert not (await limiter.check(reviews, "user:a")).allowed
    assert (await limiter.check(reviews, "user:b")).allowed
    assert (await limiter.check(uploads, "user:a")).allowed


async def test_cost_spends_several_tokens(limiter: RateLimiter) -> None:
    limit = RateLimit("export", rate=5, per=5)
    first = await limiter.check(limit, "user:a", cost=3)
    assert (first.allowed, first.remaining) == (True, 2)
    too_much = await limiter.check(limit, "user:a", cost=3)
    assert (too_much.allowed, too_much.remaining, too_much.retry_after) == (False, 2, 1.0)
    assert (await limiter.check(limit, "user:a", cost=2)).allowed
    with pytest.raises(ValueError, match=r"cost must be 1\.\.5"):
        await limiter.check(limit, "user:a", cost=6)


async def test_concurrent_checks_never_overspend(redis_client: redis.Redis, prefix: str) -> None:
    # Redis's own clock here: replicas share it, and it exercises the TIME path.
    # A generous timeout: this is about counting, and on a loaded machine the default
    # 200 ms would let checks fail open, which is another test's subject.
    limiter = RateLimiter(redis_client, prefix=prefix, timeout=10)
    limit = RateLimit("checkout", rate=10, per=3600)
    decisions = await asyncio.gather(*(limiter.check(limit, "user:a") for _ in range(50)))
    assert not any(d.degraded for d in decisions)
    assert sum(d.allowed for d in decisions) == 10
    rejected = [d for d in decisions if not d.allowed]
    assert all(d.remaining == 0 and 0 < d.retry_after <= 360 for d in rejected)


async def test_a_burst_larger_than_the_pool_waits_rather_than_failing_open(
    redis_server: Redis, prefix: str
) -> None:
    # redis-py's pool refuses at once when exhausted; the limiter must queue instead.
    small = redis.Redis.from_url(redis_server.env()["REDIS_URL"], max_connections=4)
    limiter = RateLimiter(small, prefix=prefix, max_in_flight=3, timeout=10)
    limit = RateLimit("burst", rate=10, per=3600)
    try:
        decisions = await asyncio.gather(*(limiter.check(limit, "ip:a") for _ in range(50)))
    finally:
        await small.aclose()
    assert not any(d.degraded for d in decisions)
    assert sum(d.allowed for d in decisions) == 10


async def test_keys_are_hashed_and_expire_when_full_again(
    limiter: RateLimiter, redis_client: redis.Redis, prefix: str
) -> None:
    limit = RateLimit("login", rate=3, per=30)
    await limiter.check(limit, "ip:192.0.2.7")
    keys = [key.decode() async for key in redis_client.scan_iter(match=f"{prefix}:*")]
    assert keys == [limiter.key(limit, "ip:192.0.2.7")]
    assert "192.0.2.7" not in keys[0]
    assert 0 < await redis_client.pttl(keys[0]) <= 10_000  # one interval spent: 10 s to refill

    await limiter.reset(limit, "ip:192.0.2.7")
    assert await redis_client.exists(keys[0]) == 0


@pytest.mark.parametrize(
    ("name", "rate", "per", "burst"),
    [
        ("Bad Name", 1, 1, 0),
        ("a", 0, 1, 0),
        ("a", 1, 0, 0),
        ("a", 1, 1, -1),
        ("a", 2_000_000, 1, 0),  # under a microsecond apart
    ],
)
def test_bad_limits_are_refused(name: str, rate: int, per: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        RateLimit(name, rate=rate, per=per, burst=burst)


def test_burst_defaults_to_rate() -> None:
    assert RateLimit("a", rate=3, per=1).burst == 3
    assert RateLimit("a", rate=3, per=1).window_seconds == 1.0


async def test_redis_down_fails_open_and_counts(
    closed_port: int, metrics: AppMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    dead = redis.Redis(host="127.0.0.1", port=closed_port, socket_connect_timeout=0.5)
    limiter = RateLimiter(dead, prefix="unused", metrics=metrics)
    limit = RateLimit("reviews", rate=1, per=60)
    try:
        with caplog.at_level(logging.WARNING, logger="productstore_common.ratelimit"):
            decisions = [await limiter.check(limit, "user:a") for _ in range(3)]
    finally:
        await dead.aclose()
    assert all(d.allowed and d.degraded for d in decisions)
    assert checks(metrics, "reviews", "error_allowed") == 3
    # Logged once, not once per request.
    warnings = [r for r in caplog.records if "not enforced" in r.getMessage()]
    assert len(warnings) == 1


async def test_redis_down_fails_closed_when_asked(closed_port: int, metrics: AppMetrics) -> None:
    dead = redis.Redis(host="127.0.0.1", port=closed_port, socket_connect_timeout=0.5)
    limiter = RateLimiter(dead, prefix="unused", fail_open=False, metrics=metrics)
    limit = RateLimit("payments", rate=1, per=60)
    try:
        with pytest.raises(RateLimitUnavailableError) as raised:
            await limiter.check(limit, "user:a")
        assert (await limiter.check(limit, "user:a", fail_open=True)).degraded
    finally:
        await dead.aclose()
    assert raised.value.status == 503
    assert raised.value.headers["Retry-After"] == "1"
    assert checks(metrics, "payments", "error_rejected") == 1


async def test_a_hanging_redis_is_bounded_by_the_timeout(silent_port: int) -> None:
    hung = redis.Redis(host="127.0.0.1", port=silent_port)  # no socket timeout at all
    limiter = RateLimiter(hung, prefix="unused", timeout=0.1)
    try:
        decision = await asyncio.wait_for(limiter.check(RateLimit("a", 1, 1), "x"), timeout=30)
    finally:
        await hung.aclose()
    assert decision.degraded
