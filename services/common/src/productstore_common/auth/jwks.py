"""The auth service's JWKS, fetched over HTTP and cached for token verification.

Every request of every service needs a verification key, so the keys are held in
memory and the auth service is asked again only when:

- the cache is older than `ttl` (routine refresh, picks up rotated keys), or
- a token names a `kid` the cache lacks (the auth service rotated its key
  before our TTL ran out).

Refreshes are rate-limited (`min_refresh_interval` between attempts), so a flood
of tokens with made-up kids costs the auth service at most one request per
interval, and concurrent refreshes share one request. If the auth service is
down, the last good keys keep serving for up to `max_stale` seconds past their
TTL; after that verification fails closed with JwksUnavailableError.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import httpx

from productstore_common.auth.keys import PublicKey, UnusableJwkError, parse_public_jwk

_logger = logging.getLogger(__name__)

# A JWKS of a handful of P-256 keys is well under 2 KiB; the cap stops a broken
# or hostile endpoint from making every service buffer an unbounded body.
MAX_DOCUMENT_BYTES = 64 * 1024


class JwksUnavailableError(Exception):
    """No verification keys can be served: never fetched, or stale beyond `max_stale`.

    `retry_after` is the number of seconds until the next fetch may be attempted.
    """

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidJwksError(ValueError):
    """A document that is not a JWKS or holds no usable ES256 key."""


class _FetchError(Exception):
    """One failed JWKS fetch; the message says why (logged, never shown to clients)."""


def parse_jwks_document(document: Any) -> dict[str, PublicKey]:
    """The usable ES256 keys of a JWKS document, by kid.

    Keys that are not ES256 verification keys are skipped with a warning (a JWKS
    may legitimately carry keys for other consumers); a document that is not a
    JWKS, or has no usable key at all, raises InvalidJwksError.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise InvalidJwksError("the document is not a JWKS (no 'keys' list)")
    keys: dict[str, PublicKey] = {}
    duplicated: set[str] = set()
    for jwk in document["keys"]:
        try:
            kid, key = parse_public_jwk(jwk)
        except UnusableJwkError as exc:
            _logger.warning("ignoring a JWKS key: %s", exc)
            continue
        if kid in keys:
            duplicated.add(kid)
        keys[kid] = key
    for kid in duplicated:
        # Two keys under one kid make the choice ambiguous; trust neither.
        _logger.warning("ignoring JWKS keys with duplicate kid %r", kid)
        del keys[kid]
    if not keys:
        raise InvalidJwksError("the JWKS holds no usable ES256 key")
    return keys


class JwksClient:
    """Cached, rate-limited, coalescing client of one JWKS URL.

    Use it from one event loop (it owns an httpx.AsyncClient unless given one);
    close it with `aclose()` or `async with`.
    """

    def __init__(
        self,
        url: str,
        *,
        ttl: float = 300.0,
        min_refresh_interval: float = 10.0,
        max_stale: float = 3600.0,
        timeout: float = 2.0,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or min_refresh_interval < 0 or max_stale < 0 or timeout <= 0:
            raise ValueError("ttl and timeout must be positive, intervals non-negative")
        self.url = url
        self._ttl = ttl
        self._min_refresh_interval = min_refresh_interval
        self._max_stale = max_stale
        self._clock = clock
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), follow_redirects=False
        )
        self._keys: dict[str, PublicKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._inflight: asyncio.Task[None] | None = None
        self._last_error: str | None = None

    async def get_key(self, kid: str) -> PublicKey | None:
        """The verification key named `kid`, or None if the auth service has no such key.

        Raises JwksUnavailableError when no keys fresh enough to trust can be had.
        """
        if self._fetched_at is None or self._clock() - self._fetched_at >= self._ttl:
            await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            # Maybe rotated since our last fetch; the rate limit bounds what a
            # stream of invented kids can cost the auth service.
            await self._refresh()
            key = self._keys.get(kid)
        self._ensure_fresh_enough()
        return key

    def _ensure_fresh_enough(self) -> None:
        now = self._clock()
        since_attempt = now - (self._attempted_at or now)
        retry_after = max(self._min_refresh_interval - since_attempt, 0.0)
        if self._fetched_at is None:
            raise JwksUnavailableError(
                f"the JWKS at {self.url} has not been fetched yet: {self._last_error}", retry_after
            )
        age = now - self._fetched_at
        if age >= self._ttl + self._max_stale:
            raise JwksUnavailableError(
                f"the JWKS at {self.url} is {age:.0f}s old, past its TTL plus the "
                f"{self._max_stale:.0f}s allowed staleness: {self._last_error}",
                retry_after,
            )

    async def _refresh(self) -> None:
        """Fetch the JWKS unless an attempt was made lately; join one in flight."""
        task = self._inflight
        if task is None:
            now = self._clock()
            if (
                self._attempted_at is not None
                and now - self._attempted_at < self._min_refresh_interval
            ):
                return
            self._attempted_at = now
            task = asyncio.create_task(self._fetch_and_store(), name="jwks-refresh")
            self._inflight = task
        # Shielded: one waiting request being cancelled must not cancel the fetch
        # the others wait for.
        await asyncio.shield(task)

    async def _fetch_and_store(self) -> None:
        try:
            self._keys = parse_jwks_document(await self._fetch())
            self._fetched_at = self._clock()
            self._last_error = None
            _logger.info("fetched %d JWKS key(s) from %s", len(self._keys), self.url)
        except (_FetchError, InvalidJwksError) as exc:
            self._last_error = str(exc)
            if self._fetched_at is None:
                _logger.warning("JWKS fetch from %s failed: %s", self.url, exc)
            else:
                _logger.warning(
                    "JWKS refresh from %s failed: %s; keeping the keys fetched %.0fs ago",
                    self.url,
                    exc,
                    self._clock() - self._fetched_at,
                )
        finally:
            self._inflight = None

    async def _fetch(self) -> Any:
        try:
            async with self._http.stream(
                "GET", self.url, headers={"Accept": "application/json"}
            ) as response:
                if response.status_code != 200:
                    raise _FetchError(f"HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise _FetchError(f"the document exceeds {MAX_DOCUMENT_BYTES} bytes")
        except httpx.HTTPError as exc:
            raise _FetchError(f"{type(exc).__name__}: {exc}") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise _FetchError("the document is not JSON") from exc

    async def aclose(self) -> None:
        if self._inflight is not None:
            self._inflight.cancel()
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
