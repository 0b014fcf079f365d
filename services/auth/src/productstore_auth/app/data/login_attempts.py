"""Login attempt counters in Redis: fixed windows, one key per subject and window.

A key names its window (`<prefix>:login:<kind>:<subject>:<window start>`) and
expires with it, so counting is one INCR and no cleanup is ever needed. If
Redis is unavailable the limiter lets logins through and logs: an outage of
the counter store must not lock every user out (argon2's cost still slows
guessing down).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis import exceptions as redis_errors
from redis.asyncio import Redis

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    kind: str  # what is counted: "account" or "ip"
    subject: str
    max_attempts: int


@dataclass(frozen=True)
class Exceeded:
    kind: str
    retry_after: float


class LoginAttempts:
    def __init__(
        self,
        client: Redis,
        *,
        prefix: str,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.window = window_seconds
        self.clock = clock

    def _key(self, limit: Limit, window_start: int) -> str:
        # Hashed: addresses must not sit in Redis in clear, and the key length stays fixed.
        digest = hashlib.sha256(limit.subject.encode()).hexdigest()[:32]
        return f"{self.prefix}:login:{limit.kind}:{digest}:{window_start}"

    async def attempt(self, limits: Sequence[Limit]) -> Exceeded | None:
        """Count one attempt against every limit; the most binding one exceeded, if any."""
        now = self.clock()
        window_start = int(now // self.window * self.window)
        retry_after = window_start + self.window - now
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                for limit in limits:
                    key = self._key(limit, window_start)
                    pipe.incr(key)
                    pipe.expire(key, self.window + 1)
                results = await pipe.execute()
        except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
            _logger.warning("login rate limit not enforced, Redis unavailable: %s", exc)
            return None
        counts = results[::2]
        for limit, count in zip(limits, counts, strict=True):
            if int(count) > limit.max_attempts:
                return Exceeded(limit.kind, retry_after)
        return None
