"""Login limits in Redis: a fixed window per client address, and a failure record per
account whose delays double (OWASP's exponential lockout).

Per address, every attempt counts (before the password hash, so a flood from one
address costs no hashing): one key per address and window
(`<prefix>:login:ip:<subject>:<window start>`), one INCR, expiring with it.

Per account, only failures count, after the password was checked, so a stranger's
guesses cannot make the owner's correct password fail: the OWASP Authentication
Cheat Sheet (Login Throttling, Account Lockout) warns that lockouts can be used to
lock other users out, and describes an exponential lockout, starting very short (one
second) and doubling after each failure, instead of a fixed one. The record
(`<prefix>:login:failures:<subject>`, a hash of the failure count `n` and the time
`at` of the last failure or admitted attempt) allows `free_failures` failures at no
cost; after that, an attempt must wait `first_delay * 2 ** (n - free_failures)`
seconds (at most `max_delay`) after `at`. An attempt before then is refused without
checking the password; one after it takes the slot (`at` = now) atomically, so
concurrent guesses get one check per delay between them. A success deletes the
record; otherwise it expires `window` seconds after the delay it imposes ended.

If Redis is unavailable the limits let logins through and log: an outage of the
counter store must not lock every user out (argon2's cost still slows guessing down).
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

_MICROS = 1_000_000

# The delay `n` failures impose, in microseconds (ARGV: free failures, first delay,
# max delay). Defined once, used by both scripts.
_DELAY = """
local function delay(n, free, first, max)
  if n < free then return 0 end
  return math.min(first * 2 ^ (n - free), max)
end
"""

# KEYS[1] the account's record; ARGV: now, free failures, first delay, max delay
# (microseconds). Returns how long to wait (0: admitted, and the slot is taken).
_ADMIT = (
    _DELAY
    + """
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local wait = 0
if n >= tonumber(ARGV[2]) then
  local at = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
  wait = at + delay(n, tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])) - tonumber(ARGV[1])
end
if wait > 0 then return math.ceil(wait) end
if n > 0 then redis.call('HSET', KEYS[1], 'at', ARGV[1]) end
return 0
"""
)

# KEYS[1] the account's record; ARGV: now, free failures, first delay, max delay,
# window (microseconds). Returns the failure count.
_FAIL = (
    _DELAY
    + """
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'at', ARGV[1])
local d = delay(n, tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[1], math.ceil((d + tonumber(ARGV[5])) / 1000))
return n
"""
)

_REDIS_ERRORS = (redis_errors.ConnectionError, redis_errors.TimeoutError)


@dataclass(frozen=True)
class Limit:
    kind: str  # what is counted: "ip"
    subject: str
    max_attempts: int


@dataclass(frozen=True)
class Exceeded:
    kind: str
    retry_after: float


@dataclass(frozen=True)
class AccountDelays:
    """How an account's failures slow its next attempts (see the module doc)."""

    free_failures: int
    first_delay: float
    max_delay: float

    def __post_init__(self) -> None:
        if self.free_failures < 1 or not 0 < self.first_delay <= self.max_delay:
            raise ValueError("need free_failures >= 1 and 0 < first_delay <= max_delay")


class LoginAttempts:
    def __init__(
        self,
        client: Redis,
        *,
        prefix: str,
        window_seconds: int,
        delays: AccountDelays,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.window = window_seconds
        self.delays = delays
        self.clock = clock
        self._admit = client.register_script(_ADMIT)
        self._fail = client.register_script(_FAIL)

    @staticmethod
    def _digest(subject: str) -> str:
        # Hashed: addresses must not sit in Redis in clear, and the key length stays fixed.
        return hashlib.sha256(subject.encode()).hexdigest()[:32]

    def _key(self, limit: Limit, window_start: int) -> str:
        return f"{self.prefix}:login:{limit.kind}:{self._digest(limit.subject)}:{window_start}"

    def _account_key(self, account: str) -> str:
        return f"{self.prefix}:login:failures:{self._digest(account)}"

    def _delay_args(self) -> list[int]:
        d = self.delays
        return [
            round(self.clock() * _MICROS),
            d.free_failures,
            round(d.first_delay * _MICROS),
            round(d.max_delay * _MICROS),
        ]

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
        except _REDIS_ERRORS as exc:
            _logger.warning("login rate limit not enforced, Redis unavailable: %s", exc)
            return None
        counts = results[::2]
        for limit, count in zip(limits, counts, strict=True):
            if int(count) > limit.max_attempts:
                return Exceeded(limit.kind, retry_after)
        return None

    async def admit(self, account: str) -> Exceeded | None:
        """Whether `account` may try a password now (taking the slot), or how long it waits."""
        try:
            wait_us = int(
                await self._admit(keys=[self._account_key(account)], args=self._delay_args())
            )
        except _REDIS_ERRORS as exc:
            _logger.warning("login delay not enforced, Redis unavailable: %s", exc)
            return None
        return Exceeded("account", wait_us / _MICROS) if wait_us > 0 else None

    async def failed(self, account: str) -> None:
        """Record a wrong password for `account` (an unknown one too: same answers)."""
        args = [*self._delay_args(), self.window * _MICROS]
        try:
            count = int(await self._fail(keys=[self._account_key(account)], args=args))
        except _REDIS_ERRORS as exc:
            _logger.warning("login failure not recorded, Redis unavailable: %s", exc)
            return
        if count == self.delays.free_failures:
            # OWASP: log lockouts. Hashed: the log is no place for who is being guessed at.
            _logger.warning(
                "login attempts for account %s are delayed after %d failures",
                self._digest(account)[:12],
                count,
            )

    async def succeeded(self, account: str) -> None:
        """Forget `account`'s failures: its owner knows the password."""
        try:
            await self.client.delete(self._account_key(account))
        except _REDIS_ERRORS as exc:
            _logger.warning("login failures not cleared, Redis unavailable: %s", exc)
