"""Role epochs: an access token's roles stop counting once its user's account changes.

Access tokens are verified without asking the auth service, so a token keeps the
roles it was issued with until it expires (15 minutes by default): an administrator
who was demoted or disabled would keep admin power that long. The auth service
therefore writes, after it demotes, re-roles or disables a user, a per-user record in
the shared Redis: "tokens of this user issued before T carry no roles". Every
service's role checks (`require_role`, `AdminUser`) read it and answer 401
`token_revoked` for an older token, so the client refreshes and gets the account's
current roles (or 403 `account_disabled`).

- **How stale**: each process caches what it read for `cache_seconds` (5 s by
  default), so a change reaches every service within that, plus Redis's own
  replication if any. Tokens issued in the second of the change are refused too
  (T is rounded up to whole seconds, as `iat` is whole seconds): a client that
  refreshed in that second refreshes once more.
- **Cost**: one GET per user and process per `cache_seconds`, only on routes that
  require a role; nothing on public routes and plain `CurrentUser` ones.
- **Size**: a record lives as long as a token can (the longest token lifetime
  plus leeway and skew; the writer sets it), then expires on its own; the cache
  holds at most `cache_size` users.
- **Redis down**: a role check cannot be made, so it fails closed (503,
  `Retry-After`): admin operations wait, reads are untouched.

Keys are `productstore:role-epoch:<sha256(issuer, sub)>`: the issuer names the
auth service whose tokens these are, so stores sharing a Redis never mix records,
and user ids are not kept in clear.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from productstore_common.errors import Problem

_logger = logging.getLogger(__name__)

KEY_PREFIX = "productstore:role-epoch"
DEFAULT_CACHE_SECONDS = 5.0
DEFAULT_CACHE_SIZE = 10_000
# The Redis calls of a role check: short, since a request waits for them.
REDIS_TIMEOUT_SECONDS = 0.5


class RoleEpochsUnavailableError(Problem):
    """503: the role check needs the shared Redis, which did not answer."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "Service Unavailable",
            "Roles cannot be checked right now (the shared Redis did not answer); retry shortly.",
            headers={"Retry-After": "1"},
            extra={"reason": "roles_unavailable"},
        )


class RoleEpochs:
    """Reads (cached) and writes the per-user role epochs in the shared Redis."""

    def __init__(
        self,
        client: Redis,
        *,
        issuer: str,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        cache_size: int = DEFAULT_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        owns_client: bool = False,
    ) -> None:
        if cache_seconds < 0 or cache_size < 1:
            raise ValueError("RoleEpochs needs cache_seconds >= 0 and cache_size >= 1")
        self.client = client
        self.issuer = issuer
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self._clock = clock
        self._monotonic = monotonic
        self._owns_client = owns_client
        # sub -> (read at, epoch or None); oldest first, for eviction.
        self._cache: OrderedDict[str, tuple[float, float | None]] = OrderedDict()

    @classmethod
    def from_url(cls, url: str, *, issuer: str, cache_seconds: float) -> RoleEpochs:
        """With a client of its own (closed by `aclose`), as a verifier builds it."""
        client = Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            client_name="role-epochs",
        )
        return cls(client, issuer=issuer, cache_seconds=cache_seconds, owns_client=True)

    def key(self, sub: str) -> str:
        digest = hashlib.sha256(f"{self.issuer}\0{sub}".encode()).hexdigest()[:32]
        return f"{KEY_PREFIX}:{digest}"

    async def revoke(self, sub: str, *, lifetime_seconds: float) -> None:
        """Tokens of `sub` issued up to now carry no roles any more (for as long as such
        a token can live, `lifetime_seconds`). Raises RoleEpochsUnavailableError."""
        epoch = math.ceil(self._clock())
        try:
            await self.client.set(self.key(sub), str(epoch), ex=math.ceil(lifetime_seconds))
        except (RedisError, OSError) as exc:
            _logger.warning("role epoch of %s not recorded, Redis unavailable: %s", sub, exc)
            raise RoleEpochsUnavailableError from exc
        # This process sees its own change at once.
        self._remember(sub, float(epoch))

    async def valid_after(self, sub: str) -> float | None:
        """The epoch of `sub` (tokens issued before it carry no roles), or None."""
        cached = self._cache.get(sub)
        now = self._monotonic()
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        try:
            raw = await self.client.get(self.key(sub))
        except (RedisError, OSError) as exc:
            _logger.warning("role epochs unavailable, role checks refused: %s", exc)
            raise RoleEpochsUnavailableError from exc
        epoch = float(raw) if raw is not None else None
        self._remember(sub, epoch)
        return epoch

    async def current(self, sub: str, issued_at: datetime) -> bool:
        """Whether a token of `sub` issued at `issued_at` still carries its roles."""
        epoch = await self.valid_after(sub)
        return epoch is None or issued_at.timestamp() >= epoch

    def _remember(self, sub: str, epoch: float | None) -> None:
        self._cache[sub] = (self._monotonic(), epoch)
        self._cache.move_to_end(sub)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()
