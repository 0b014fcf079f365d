"""Rate limits in Redis: GCRA, one atomic Lua script (one round trip) per check.

A limit is `rate` requests per `per` seconds with bursts of up to `burst`. GCRA
(the generic cell rate algorithm, a token bucket without a refill job) keeps a
single number per (limit, subject): the theoretical arrival time (TAT) of the
next request. A request is allowed if admitting it would not push the TAT more
than `burst` emission intervals past now; the key expires when the bucket is
full again, so idle subjects cost nothing. Read, decide and write happen inside
one script, so concurrent replicas can never both spend the last token.

Time comes from Redis (`TIME`) so that every replica of a service shares one
clock; tests pass their own clock instead. Subjects are hashed before they go
into keys: client addresses and user ids must not sit in Redis in clear.

Wiring, in a service's lifespan and routes:

    install_rate_limiter(app, RateLimiter(redis, prefix="catalog", metrics=metrics_of(app)))

    @router.post("/reviews", dependencies=[Depends(rate_limit("reviews", rate=10, per=60))],
                 responses=RATE_LIMITED_RESPONSES)

If Redis is unreachable or slow the check fails open by default (the request
passes, a warning is logged at most every 10 s and
`rate_limit_checks_total{outcome="error_allowed"}` counts it): an outage of the
counter store must not take the whole API down. `fail_open=False` (per limiter
or per limit) answers 503 instead, for limits that protect something costlier
than an outage (e.g. paid third-party calls).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import ipaddress
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from redis.asyncio import Redis
from redis.exceptions import RedisError

from productstore_common.auth.deps import CurrentPrincipal, OptionalPrincipal
from productstore_common.auth.tokens import Principal
from productstore_common.client_address import client_address
from productstore_common.errors import PROBLEM_CONTENT_TYPE, Problem
from productstore_common.telemetry.metrics import AppMetrics

_logger = logging.getLogger(__name__)

# KEYS[1] the subject's TAT; ARGV: emission interval (us), burst * interval (us),
# cost, now (us; empty: Redis's own clock). Returns {allowed, remaining,
# retry after (us), reset after (us)}. Integer microseconds keep the arithmetic
# exact (doubles hold integers to 2^53, ~285 years of microseconds).
_GCRA = """
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local new_tat = tat + interval * cost
local allow_at = new_tat - capacity
if now < allow_at then
  return {0, math.floor((now - (tat - capacity)) / interval), allow_at - now, tat - now}
end
local ttl_ms = math.ceil((new_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
"""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_MICROS = 1_000_000
_WARN_INTERVAL_SECONDS = 10.0

Clock = Callable[[], float]


@dataclass(frozen=True)
class RateLimit:
    """`rate` requests per `per` seconds, at most `burst` (default `rate`) at once."""

    name: str
    rate: int
    per: float
    burst: int = 0  # 0: the same as rate

    def __post_init__(self) -> None:
        # The name is a key part and a metric label: code-defined, short, bounded.
        if not _NAME.match(self.name):
            raise ValueError(f"rate limit name {self.name!r} must match {_NAME.pattern}")
        if self.rate < 1 or self.per <= 0 or self.burst < 0:
            raise ValueError(f"rate limit {self.name}: need rate >= 1, per > 0, burst >= 0")
        if self.burst == 0:
            object.__setattr__(self, "burst", self.rate)
        if self.interval_us < 1:
            raise ValueError(f"rate limit {self.name}: more than one request per microsecond")

    @property
    def interval_us(self) -> int:
        """Microseconds between requests at the sustained rate (the emission interval)."""
        return round(self.per * _MICROS / self.rate)

    @property
    def window_seconds(self) -> float:
        """How long an emptied bucket takes to fill up again."""
        return self.per * self.burst / self.rate


@dataclass(frozen=True)
class Decision:
    """The outcome of one check; times are in seconds."""

    allowed: bool
    limit: int  # the burst: what a full bucket holds
    remaining: int  # requests that would pass right now
    retry_after: float  # 0 when allowed
    reset_after: float  # until the bucket is full again
    degraded: bool = False  # Redis failed and the limiter failed open


class RateLimitUnavailableError(Problem):
    """503: Redis failed and the limit is configured to fail closed."""

    def __init__(self, limit: RateLimit) -> None:
        super().__init__(
            503,
            "Service Unavailable",
            f"The rate limit '{limit.name}' cannot be checked right now; retry shortly.",
            headers={"Retry-After": "1"},
            extra={"reason": "rate_limit_unavailable", "limit": limit.name},
        )


@dataclass
class RateLimiter:
    """Checks `RateLimit`s against Redis; one per process, shared by all limits.

    `client` is the service's own async Redis client; `prefix` namespaces the
    keys (`<prefix>:ratelimit:<name>:<hashed subject>`). `timeout` bounds each
    check, waiting for a turn included, whatever the client's socket timeouts
    are. At most `max_in_flight` checks use the client at once; keep it below
    the client's pool size (redis-py's default is 100, shared with the rest of
    the service), since an exhausted pool fails at once instead of waiting, and
    a limiter that failed open under a burst would not limit the burst. `clock`
    (seconds) replaces Redis's clock, for tests.
    """

    client: Redis
    prefix: str
    fail_open: bool = True
    timeout: float = 0.2
    metrics: AppMetrics | None = None
    max_in_flight: int = 50
    clock: Clock | None = None
    _last_warning: float = field(default=-math.inf, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.max_in_flight < 1:
            raise ValueError("RateLimiter needs timeout > 0 and max_in_flight >= 1")
        # EVALSHA, and SCRIPT LOAD only after a NOSCRIPT (a restarted Redis).
        self._script = self.client.register_script(_GCRA)
        self._turns = asyncio.Semaphore(self.max_in_flight)
        self._checks = (
            self.metrics.counter(
                "rate_limit_checks_total",
                "Rate limit checks by limit and outcome (allowed, rejected, "
                "error_allowed, error_rejected).",
                ("limit", "outcome"),
            )
            if self.metrics is not None
            else None
        )

    def key(self, limit: RateLimit, subject: str) -> str:
        digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
        return f"{self.prefix}:ratelimit:{limit.name}:{digest}"

    async def check(
        self, limit: RateLimit, subject: str, *, cost: int = 1, fail_open: bool | None = None
    ) -> Decision:
        """Spend `cost` of `subject`'s budget under `limit`, if it has that much.

        Raises RateLimitUnavailableError if Redis fails and the limit fails closed.
        """
        if not 1 <= cost <= limit.burst:
            raise ValueError(f"cost must be 1..{limit.burst} for rate limit {limit.name}")
        now = "" if self.clock is None else str(round(self.clock() * _MICROS))
        args = (limit.interval_us, limit.interval_us * limit.burst, cost, now)
        try:
            async with asyncio.timeout(self.timeout), self._turns:
                raw = await self._script(keys=[self.key(limit, subject)], args=args)
        except (RedisError, TimeoutError, OSError) as exc:
            return self._unavailable(limit, exc, self.fail_open if fail_open is None else fail_open)
        allowed, remaining, retry_after_us, reset_after_us = (int(v) for v in raw)
        decision = Decision(
            allowed=bool(allowed),
            limit=limit.burst,
            remaining=max(0, remaining),
            retry_after=retry_after_us / _MICROS,
            reset_after=reset_after_us / _MICROS,
        )
        self._count(limit, "allowed" if decision.allowed else "rejected")
        return decision

    async def reset(self, limit: RateLimit, subject: str) -> None:
        """Give `subject` its full budget again (e.g. after an administrator's unlock)."""
        await self.client.delete(self.key(limit, subject))

    def _unavailable(self, limit: RateLimit, exc: BaseException, fail_open: bool) -> Decision:
        self._count(limit, "error_allowed" if fail_open else "error_rejected")
        # Once per interval: during an outage every request would log otherwise.
        now = time.monotonic()
        if now - self._last_warning >= _WARN_INTERVAL_SECONDS:
            self._last_warning = now
            _logger.warning(
                "rate limit %s not enforced (%s), Redis unavailable: %s",
                limit.name,
                "failing open" if fail_open else "failing closed",
                type(exc).__name__ if isinstance(exc, TimeoutError) else exc,
            )
        if not fail_open:
            raise RateLimitUnavailableError(limit) from exc
        return Decision(
            allowed=True,
            limit=limit.burst,
            remaining=limit.burst,
            retry_after=0.0,
            reset_after=0.0,
            degraded=True,
        )

    def _count(self, limit: RateLimit, outcome: str) -> None:
        if self._checks is not None:
            self._checks.labels(limit.name, outcome).inc()


def install_rate_limiter(app: FastAPI, limiter: RateLimiter) -> RateLimiter:
    """Make `rate_limit` dependencies of `app` use `limiter` (call in the lifespan)."""
    app.state.rate_limiter = limiter
    return limiter


def get_rate_limiter(request: Request) -> RateLimiter:
    limiter = getattr(request.app.state, "rate_limiter", None)
    if isinstance(limiter, RateLimiter):
        return limiter
    # A wiring bug, not a client error: surfaces as a logged 500.
    raise RuntimeError("rate_limit dependencies used before install_rate_limiter(app, limiter)")


# Subjects: FastAPI dependencies returning the string a budget belongs to.


def client_ip(request: Request) -> str:
    """The client's address as the gateway saw it (`client_address`); IPv6 clients
    by their /64, since one IPv6 host usually holds a whole /64 and limiting single
    addresses would not limit it.
    """
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return "ip:unknown"
    if address.version == 6:
        return f"ip:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"ip:{address}"


def _principal_subject(principal: Principal) -> str:
    return f"{principal.token_type}:{principal.sub}"


def by_principal(principal: CurrentPrincipal) -> str:
    """The authenticated caller (401 without a token): user or service id."""
    return _principal_subject(principal)


def by_principal_or_ip(request: Request, principal: OptionalPrincipal) -> str:
    """The caller when a token was sent, else the client address."""
    return _principal_subject(principal) if principal is not None else client_ip(request)


def _retry_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def _headers(limit: RateLimit, decision: Decision) -> dict[str, str]:
    # draft-ietf-httpapi-ratelimit-headers (-07): quota, what is left, when full.
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(math.ceil(decision.reset_after)),
        "RateLimit-Policy": f"{limit.burst};w={math.ceil(limit.window_seconds)}",
    }


class RateLimitedError(Problem):
    """429: the subject spent its budget under `limit`; `Retry-After` says when to retry."""

    def __init__(self, limit: RateLimit, decision: Decision) -> None:
        seconds = _retry_seconds(decision.retry_after)
        super().__init__(
            429,
            "Too Many Requests",
            f"Rate limit '{limit.name}' of {limit.rate} requests per {limit.per:g} s "
            f"(bursts of {limit.burst}) exceeded; retry in {seconds} s.",
            headers={"Retry-After": str(seconds), **_headers(limit, decision)},
            extra={"reason": "rate_limited", "limit": limit.name, "retry_after": seconds},
        )


def rate_limit(
    name: str,
    *,
    rate: int,
    per: float,
    burst: int = 0,
    key: Callable[..., str | Awaitable[str]] = by_principal_or_ip,
    cost: int = 1,
    fail_open: bool | None = None,
) -> Callable[..., Awaitable[None]]:
    """A dependency enforcing `rate` requests per `per` seconds per subject.

    Use it on a route or a router: `dependencies=[Depends(rate_limit("search", rate=20,
    per=1))]`. `key` is a dependency returning the subject (`client_ip`,
    `by_principal`, `by_principal_or_ip` or your own). A rejected request gets
    a 429 problem with `Retry-After`; allowed responses carry `RateLimit-*`
    headers (of the tightest limit when several apply).
    """
    limit = RateLimit(name, rate, per, burst)
    if not 1 <= cost <= limit.burst:
        raise ValueError(f"cost must be 1..{limit.burst} for rate limit {name}")

    async def enforce(request: Request, response: Response, subject: str) -> None:
        decision = await get_rate_limiter(request).check(
            limit, subject, cost=cost, fail_open=fail_open
        )
        if not decision.allowed:
            raise RateLimitedError(limit, decision)
        if decision.degraded:
            return
        shown = response.headers.get("RateLimit-Remaining")
        if shown is None or decision.remaining < int(shown):
            response.headers.update(_headers(limit, decision))

    # FastAPI reads dependencies from the signature; `key` is only known here.
    enforce.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
            inspect.Parameter("response", inspect.Parameter.KEYWORD_ONLY, annotation=Response),
            inspect.Parameter(
                "subject",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[str, Depends(key)],
            ),
        ]
    )
    enforce.__name__ = f"rate_limit_{name.replace('-', '_').replace('.', '_')}"
    return enforce


RATE_LIMITED_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Rate limit exceeded; retry after `Retry-After` seconds",
        "headers": {
            "Retry-After": {
                "description": "Seconds until a retry can pass",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
        "content": {
            PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
        },
    }
}
"""`responses=` entries documenting a route's rate limit (merge with others)."""
