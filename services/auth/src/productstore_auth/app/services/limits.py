"""Attempt limits of the unauthenticated endpoints other than login (which has its own
rules, `data/login_attempts.py`): registration per client address, service tokens per
client address and per client id.

The shared limiter (`productstore_common.ratelimit`: GCRA in Redis, one atomic script
per check, every replica spending from one budget). A subject over its budget gets 429
`rate_limited` with `Retry-After`. If Redis is unavailable the limits let requests
through and log, as login does: an outage of the counter store must not close
registration (the hash pool, `AUTH_PASSWORD_HASH_CONCURRENCY`, still bounds the cost).
"""

from __future__ import annotations

from dataclasses import dataclass

from productstore_common.ratelimit import RateLimit, RateLimitedError, RateLimiter


@dataclass(frozen=True)
class RequestLimits:
    limiter: RateLimiter
    register_per_ip: RateLimit
    service_token_per_ip: RateLimit
    service_token_per_client: RateLimit

    @classmethod
    def of(
        cls,
        limiter: RateLimiter,
        *,
        register: tuple[int, float],
        service_token_per_ip: tuple[int, float],
        service_token_per_client: tuple[int, float],
    ) -> RequestLimits:
        """Limits from (attempts, window seconds) pairs; bursts of a whole window."""
        return cls(
            limiter,
            RateLimit("register", *register),
            RateLimit("service-token", *service_token_per_ip),
            RateLimit("service-token-client", *service_token_per_client),
        )

    async def _spend(self, limit: RateLimit, subject: str) -> None:
        decision = await self.limiter.check(limit, subject)
        if not decision.allowed:
            raise RateLimitedError(limit, decision)

    async def register(self, client_ip: str) -> None:
        """One registration attempt from `client_ip`, or 429."""
        await self._spend(self.register_per_ip, client_ip)

    async def service_token(self, client_ip: str, client_id: str) -> None:
        """One service-token attempt from `client_ip` for `client_id`, or 429. The
        sender's own budget is spent first: one address spends at most that of a client's."""
        await self._spend(self.service_token_per_ip, client_ip)
        await self._spend(self.service_token_per_client, f"client:{client_id}")
