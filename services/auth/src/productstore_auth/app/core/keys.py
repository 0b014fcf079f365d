"""The signing-key set: what is stored, which key signs, which keys are published.

A key set is a list of ES256 keys, each with the instant it starts signing
(`activates_at`). Rotation adds a key that activates `delay` seconds later, so
verifiers see it in the JWKS before any token names it; the newest active key
signs. The set is bounded by design (`retained`, applied at every rotation):

- a key that stopped signing stays published until every token it signed has
  expired (`retire_after`: the longest token lifetime plus the verifiers' leeway
  and clock skew), then it is dropped;
- at most one key is pending: a rotation replaces a pending key that has not
  signed yet (it activates more than `PENDING_SKEW` from now), since the newer one
  makes it pointless;
- never more than `MAX_PUBLISHED_KEYS` keys: past that the oldest retired keys
  go first (their tokens then fail as verifiers refresh), never the signing or
  pending key. A JWK of a P-256 key is about 180 bytes, so the JWKS stays near
  3 KiB, far below the 64 KiB every verifier accepts however often anyone rotates.

With the default activation delay (330 s) a key activates at most every 330 s, so
a 15-minute token lifetime needs 3 retired keys and the cap is never reached.

The store behind it (Vault KV v2, or Cassandra in development) keeps the set
as one versioned document and replaces it with a compare-and-set, so replicas
rotating at once cannot lose each other's keys.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any, Protocol

from productstore_common.auth.keys import (
    SigningKey,
    generate_signing_key,
    jwk_thumbprint,
    signing_key_to_pem,
)

DOCUMENT_FORMAT = 1
# The hard cap on published keys (see the module doc).
MAX_PUBLISHED_KEYS = 16
# A pending key this close to its activation may already sign on a replica whose
# clock runs ahead: a rotation keeps it rather than replace it.
PENDING_SKEW = timedelta(seconds=60)


class KeyDocumentError(ValueError):
    """A stored key document that this code cannot read (corrupt or from the future)."""


@dataclass(frozen=True)
class StoredKey:
    kid: str
    private_key_pem: str
    created_at: datetime
    activates_at: datetime


@dataclass(frozen=True)
class KeySet:
    """The stored keys and the store's version of them (None: nothing stored yet)."""

    keys: tuple[StoredKey, ...]
    version: int | None


class KeyStore(Protocol):
    """Where the key set lives; `save` is a compare-and-set on `expected_version`."""

    name: str

    async def load(self) -> KeySet: ...

    async def save(self, keys: Sequence[StoredKey], expected_version: int | None) -> bool:
        """Store `keys` if the stored version is still `expected_version`; False if not."""
        ...

    def close(self) -> None: ...


def new_key(now: datetime, activation_delay: timedelta) -> tuple[StoredKey, SigningKey]:
    """A fresh ES256 key whose kid is its RFC 7638 thumbprint."""
    private = generate_signing_key()
    stored = StoredKey(
        kid=jwk_thumbprint(private),
        private_key_pem=signing_key_to_pem(private).decode("ascii"),
        created_at=now,
        activates_at=now + activation_delay,
    )
    return stored, private


def active_key(keys: Sequence[StoredKey], now: datetime) -> StoredKey | None:
    """The key that signs at `now`: the newest whose activation has come."""
    active = [key for key in keys if key.activates_at <= now]
    return max(active, key=lambda key: (key.activates_at, key.created_at), default=None)


def retained(
    keys: Sequence[StoredKey],
    now: datetime,
    *,
    retire_after: timedelta,
    max_keys: int = MAX_PUBLISHED_KEYS,
) -> list[StoredKey]:
    """The keys worth keeping at `now`, oldest first (see the module doc): the newest
    pending key (and any about to activate), the signing key, and the keys before it
    whose tokens may still be valid, at most `max_keys` in all."""
    if max_keys < 2:
        raise ValueError("max_keys must leave room for the signing key and a pending one")
    ordered = sorted(keys, key=lambda key: (key.activates_at, key.created_at))
    active = [key for key in ordered if key.activates_at <= now]
    pending = [key for key in ordered if key.activates_at > now]
    current, newest = active[-1:], pending[-1:]
    # Older pending keys give way to the newest, unless about to activate (they may
    # sign already where a clock runs ahead); the cap bounds even those.
    near = [key for key in pending[:-1] if key.activates_at - now <= PENDING_SKEW]
    near = near[: max(0, max_keys - len(current) - len(newest))]
    # A key stopped signing when its successor activated; its tokens live `retire_after`.
    previous = [
        key for key, successor in pairwise(active) if now - successor.activates_at < retire_after
    ]
    room = max(0, max_keys - len(current) - len(near) - len(newest))
    return previous[max(0, len(previous) - room) :] + current + near + newest


def encode_document(keys: Sequence[StoredKey]) -> dict[str, Any]:
    return {
        "format": DOCUMENT_FORMAT,
        "keys": [
            {
                "kid": key.kid,
                "private_key_pem": key.private_key_pem,
                "created_at": key.created_at.isoformat(),
                "activates_at": key.activates_at.isoformat(),
            }
            for key in keys
        ],
    }


def decode_document(document: Any) -> tuple[StoredKey, ...]:
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise KeyDocumentError("the stored key document is not JSON") from exc
    if not isinstance(document, dict) or document.get("format") != DOCUMENT_FORMAT:
        raise KeyDocumentError(
            f"the stored key document is not format {DOCUMENT_FORMAT}; was it written by "
            "a newer version of the auth service?"
        )
    try:
        return tuple(
            StoredKey(
                kid=str(entry["kid"]),
                private_key_pem=str(entry["private_key_pem"]),
                created_at=_utc(entry["created_at"]),
                activates_at=_utc(entry["activates_at"]),
            )
            for entry in document["keys"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyDocumentError(f"a stored signing key is malformed: {exc!r}") from exc


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
