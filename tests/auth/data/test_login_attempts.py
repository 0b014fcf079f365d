"""The per-account failure record against the real Redis, on a clock the test moves:
free failures, delays that double up to the cap, one check per delay, reset on success."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as redis

from productstore_auth.app.data.login_attempts import AccountDelays, LoginAttempts

pytestmark = pytest.mark.anyio

WINDOW = 10


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _attempts(client: redis.Redis, clock: Clock) -> LoginAttempts:
    return LoginAttempts(
        client,
        prefix=f"login-test-{uuid.uuid4().hex[:12]}",
        window_seconds=WINDOW,
        delays=AccountDelays(free_failures=3, first_delay=1.0, max_delay=4.0),
        clock=clock,
    )


# (seconds the clock moves first, what happens, the wait `admit` reports or None).
# `admit` is a login attempt asking to be checked; `fail`/`succeed` its outcome.
STEPS: list[tuple[float, str, float | None]] = [
    (0, "admit", None),
    (0, "fail", None),
    (0, "admit", None),
    (0, "fail", None),
    (0, "admit", None),
    (0, "fail", None),
    # Three failures: the next try waits a second from the last one.
    (0, "admit", 1.0),
    (0.4, "admit", 0.6),
    (0.6, "admit", None),
    # That try took the slot: another at the same moment waits a whole delay.
    (0, "admit", 1.0),
    (0, "fail", None),
    (0, "admit", 2.0),  # doubled
    (2, "admit", None),
    (0, "fail", None),
    (0, "admit", 4.0),
    (4, "admit", None),
    (0, "fail", None),
    (0, "admit", 4.0),  # capped at max_delay
    (4, "admit", None),
    # The owner's password: every failure forgotten.
    (0, "succeed", None),
    (0, "admit", None),
    (0, "fail", None),
    (0, "admit", None),
]


async def test_delays_double_after_the_free_failures_and_a_success_resets(
    redis_client: redis.Redis,
) -> None:
    clock = Clock()
    attempts = _attempts(redis_client, clock)
    for number, (advance, action, wait) in enumerate(STEPS):
        clock.now += advance
        if action == "admit":
            waiting = await attempts.admit("owner@example.com")
            got = None if waiting is None else waiting.retry_after
            assert got == pytest.approx(wait), (number, action)
        elif action == "fail":
            await attempts.failed("owner@example.com")
        else:
            await attempts.succeeded("owner@example.com")
    # Another account was never slowed.
    assert await attempts.admit("other@example.com") is None


async def test_concurrent_guesses_get_one_check_per_delay(redis_client: redis.Redis) -> None:
    clock = Clock()
    attempts = _attempts(redis_client, clock)
    for _ in range(4):
        await attempts.failed("owner@example.com")
    clock.now += 2.0  # the delay of four failures has passed
    results = await asyncio.gather(*(attempts.admit("owner@example.com") for _ in range(10)))
    assert sum(result is None for result in results) == 1


async def test_a_record_lasts_a_window_after_its_delay(redis_client: redis.Redis) -> None:
    clock = Clock()
    attempts = _attempts(redis_client, clock)
    for _ in range(5):
        await attempts.failed("owner@example.com")
    key = attempts._account_key("owner@example.com")
    ttl_ms = await redis_client.pttl(key)
    # Five failures: a 4 s delay, then the window.
    assert (4 + WINDOW) * 1000 - 1000 < ttl_ms <= (4 + WINDOW) * 1000
    await attempts.succeeded("owner@example.com")
    assert await redis_client.exists(key) == 0
