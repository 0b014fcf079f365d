"""Providers of a channel (SMTP servers, SMS APIs, the admins' chats) as an ordered
failover chain, each behind a circuit breaker.

A provider that fails `failures` times in a row is skipped (its breaker is open) for
`reset_seconds`; then one message may try it again (half-open): success closes the
breaker, failure opens it for another period. The chain tries the providers in order
and returns at the first that accepts the message, reporting every attempt so the
delivery log shows which provider was tried, how it went and how long it took.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Generic, Literal, Protocol, TypeVar

from productstore_common.events import Backoff
from productstore_notifications.app.data.smtp import ProviderRefusedError

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(
        self,
        *,
        failures: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = failures
        self.reset_seconds = reset_seconds
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> BreakerState:
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.reset_seconds:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether a call may go through now (one trial at a time when half-open)."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial:
            self._trial = True
            return True
        return False

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._trial = False

    def failed(self) -> None:
        self.failures += 1
        self._trial = False
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = self.clock()


M = TypeVar("M")
M_contra = TypeVar("M_contra", contravariant=True)


class Provider(Protocol[M_contra]):
    name: str

    async def send(self, message: M_contra) -> None:
        """Hand the message over; ProviderRefusedError when the provider did not take it."""


EmailProvider = Provider[EmailMessage]


@dataclass(frozen=True)
class Attempt:
    provider: str
    ok: bool
    latency_ms: float
    error: str | None = None


@dataclass
class ChainResult:
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def sent_by(self) -> str | None:
        return next((a.provider for a in self.attempts if a.ok), None)


class FailoverChain(Generic[M]):
    def __init__(
        self,
        providers: Sequence[Provider[M]],
        *,
        failures: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not providers:
            raise ValueError("a failover chain needs at least one provider")
        self.providers = list(providers)
        self.breakers = {
            p.name: CircuitBreaker(failures=failures, reset_seconds=reset_seconds, clock=clock)
            for p in self.providers
        }

    def states(self) -> dict[str, BreakerState]:
        return {name: breaker.state for name, breaker in self.breakers.items()}

    async def send(self, message: M) -> ChainResult:
        """Try the providers in order; the result lists each attempt (none: every
        breaker is open)."""
        result = ChainResult()
        for provider in self.providers:
            breaker = self.breakers[provider.name]
            if not breaker.allow():
                continue
            started = time.perf_counter()
            try:
                await provider.send(message)
            except ProviderRefusedError as exc:
                breaker.failed()
                result.attempts.append(Attempt(provider.name, False, _since(started), str(exc)))
                continue
            breaker.succeeded()
            result.attempts.append(Attempt(provider.name, True, _since(started)))
            return result
        return result


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


@dataclass(frozen=True)
class RoundsResult:
    sent_by: str | None
    attempts: int
    last_error: str


async def send_in_rounds(
    chain: FailoverChain[M],
    message: M,
    *,
    rounds: int,
    backoff: Backoff,
    log: Callable[[int, Attempt], Awaitable[None]],
    all_open: str,
) -> RoundsResult:
    """Up to `rounds` rounds over the chain with backoff between them, until a provider
    takes the message; `log` gets every attempt, numbered from 1 (an `all_open` attempt
    by provider `-` for a round in which every breaker was open)."""
    attempt, last_error = 0, "not tried"
    for round_ in range(1, rounds + 1):
        result = await chain.send(message)
        tried = result.attempts or [Attempt("-", False, 0.0, all_open)]
        for each in tried:
            attempt += 1
            await log(attempt, each)
            last_error = each.error or last_error
        if result.sent_by is not None:
            return RoundsResult(result.sent_by, attempt, last_error)
        if round_ < rounds:
            await asyncio.sleep(backoff.next_delay())
    return RoundsResult(None, attempt, last_error)
