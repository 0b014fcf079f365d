"""The key ring: the signing-key set in memory, reloaded from its store, rotated on request.

Every replica signs with the set's active key and publishes all retained
public keys (see `core.keys`). The set is re-read from the store every
`reload_interval` seconds, so a rotation made by one replica reaches the
others well within the activation delay, before the new key signs anything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from productstore_auth.app.core.keys import (
    KeyStore,
    StoredKey,
    active_key,
    new_key,
    retained,
)
from productstore_common.auth.keys import SigningKey, jwks_document, load_signing_key_pem

_logger = logging.getLogger(__name__)

# Attempts of a compare-and-set before giving up: only concurrent rotations conflict.
_SAVE_ATTEMPTS = 5
# The first key is dated back by this much, so replicas whose clocks run a little
# behind the one that created it see it as active too (more than any sane skew).
_FIRST_KEY_BACKDATE = timedelta(minutes=5)


class KeyRingError(RuntimeError):
    """The key set cannot be loaded or saved; the message says why."""


@dataclass(frozen=True)
class Rotation:
    kid: str
    activates_at: datetime
    published: tuple[str, ...]


class KeyRing:
    def __init__(
        self,
        store: KeyStore,
        *,
        activation_delay: timedelta,
        reload_interval: float,
        retire_after: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.activation_delay = activation_delay
        # How long a key that stopped signing stays published: its tokens' longest life.
        self.retire_after = retire_after
        self.reload_interval = reload_interval
        self._clock = clock
        self._monotonic = monotonic
        self._keys: tuple[StoredKey, ...] = ()
        self._private: dict[str, SigningKey] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Load the set; the very first replica of a store creates its first key."""
        await self._reload()
        if not self._keys:
            # Nobody can hold a token yet, so the first key signs at once.
            await self._update(
                lambda keys: keys or [new_key(self._clock(), -_FIRST_KEY_BACKDATE)[0]]
            )
        _logger.info(
            "signing keys from %s: %s", self.store.name, ", ".join(k.kid for k in self._keys)
        )

    async def _reload(self) -> None:
        loaded = await self.store.load()
        self._install(loaded.keys)

    def _install(self, keys: Sequence[StoredKey]) -> None:
        self._keys = tuple(keys)
        self._private = {
            key.kid: self._private.get(key.kid) or load_signing_key_pem(key.private_key_pem)
            for key in keys
        }
        self._loaded_at = self._monotonic()

    async def _fresh(self) -> None:
        if (
            self._loaded_at is not None
            and self._monotonic() - self._loaded_at < self.reload_interval
        ):
            return
        async with self._lock:
            # Another request may have reloaded while we waited.
            if (
                self._loaded_at is None
                or self._monotonic() - self._loaded_at >= self.reload_interval
            ):
                try:
                    await self._reload()
                except Exception:
                    if not self._keys:
                        raise
                    # Keep signing with the keys we have; the store may be back soon.
                    _logger.exception("reloading the signing keys from %s failed", self.store.name)
                    self._loaded_at = self._monotonic()

    async def _update(
        self, change: Callable[[list[StoredKey]], list[StoredKey]]
    ) -> tuple[StoredKey, ...]:
        for _ in range(_SAVE_ATTEMPTS):
            current = await self.store.load()
            proposed = change(list(current.keys))
            if await self.store.save(proposed, current.version):
                self._install(proposed)
                return self._keys
        raise KeyRingError(
            f"the signing keys in {self.store.name} kept changing under us; try again"
        )

    async def signing_key(self) -> tuple[str, SigningKey]:
        """The kid and private key that sign tokens now."""
        await self._fresh()
        key = active_key(self._keys, self._clock())
        if key is None:
            raise KeyRingError(f"no active signing key in {self.store.name}")
        return key.kid, self._private[key.kid]

    async def jwks(self) -> dict[str, Any]:
        """The JWKS of every retained key: pending, active, and those whose tokens live."""
        await self._fresh()
        return jwks_document({key.kid: self._private[key.kid] for key in self._keys})

    async def rotate(self) -> Rotation:
        """Add a key that signs after the activation delay; drop keys no longer needed
        (`core.keys.retained`: the set stays bounded however often this is called)."""
        fresh, _ = new_key(self._clock(), self.activation_delay)

        def add(keys: list[StoredKey]) -> list[StoredKey]:
            return retained([*keys, fresh], self._clock(), retire_after=self.retire_after)

        keys = await self._update(add)
        _logger.info(
            "rotated signing keys: %s signs from %s", fresh.kid, fresh.activates_at.isoformat()
        )
        return Rotation(fresh.kid, fresh.activates_at, tuple(key.kid for key in keys))

    async def ready(self) -> bool:
        await self._fresh()
        return active_key(self._keys, self._clock()) is not None
