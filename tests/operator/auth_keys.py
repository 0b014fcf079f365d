"""The auth service's own key-store code against the Vault configuration the operator
writes: the operator grants auth's role its signing-keys path, auth does the rest.

Shared by the io test (a token carrying auth's policy) and the lifecycle test (a
ServiceAccount token logging in with auth's Kubernetes-auth role).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from productstore_auth.app.data.vault import VaultKeyStore
from productstore_auth.app.services.keyring import KeyRing

# As in production: a rotated-in key waits before it signs, the old one stays published.
ACTIVATION_DELAY = timedelta(seconds=330)


@dataclass(frozen=True)
class KeyLifecycle:
    first_kid: str
    rotated_kid: str
    signing_kid_after_rotation: str
    published_kids: frozenset[str]
    stored_version: int | None


def create_and_rotate(store: VaultKeyStore) -> KeyLifecycle:
    """What a fresh auth replica does: create the first key, then rotate once."""

    async def run() -> KeyLifecycle:
        ring = KeyRing(
            store,
            activation_delay=ACTIVATION_DELAY,
            reload_interval=30.0,
            retire_after=timedelta(minutes=15),
        )
        await ring.start()  # KV v2 write with cas=0: needs "create"
        first, _ = await ring.signing_key()
        rotation = await ring.rotate()  # write with cas=<version>: needs "update"
        signing, _ = await ring.signing_key()
        jwks = await ring.jwks()
        # A second replica reads what the first wrote: needs "read".
        reread = await store.load()
        return KeyLifecycle(
            first_kid=first,
            rotated_kid=rotation.kid,
            signing_kid_after_rotation=signing,
            published_kids=frozenset(key["kid"] for key in jwks["keys"]),
            stored_version=reread.version,
        )

    try:
        return asyncio.run(run())
    finally:
        store.close()
