"""Bounded exponential backoff with jitter, and a sleep that a stop request cuts short."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays ``c/2 + uniform(0, c/2)``, ``c = min(maximum, initial * 2**n)``, for the
    n-th failure in a row.

    Jitter: replicas that lost Kafka at the same moment do not retry in
    lock-step when it comes back; the c/2 floor keeps a failing loop from spinning.
    """

    initial: float = 0.2
    maximum: float = 10.0
    failures: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum:
            raise ValueError(
                f"backoff needs 0 < initial <= maximum, got {self.initial} and {self.maximum}"
            )

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * 2.0 ** min(self.failures, 32))
        self.failures += 1
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not crypto

    def reset(self) -> None:
        self.failures = 0


async def sleep_unless(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``stop`` is set; True when stopped."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
