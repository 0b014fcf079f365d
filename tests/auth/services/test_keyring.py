"""The key ring on both key stores (OpenBao KV v2 and the development Cassandra table):
first key, concurrent replicas, rotation with an activation delay, retention."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from devstack.components.openbao import KV_MOUNT, OpenBao
from productstore_auth.app.core.keys import MAX_PUBLISHED_KEYS, KeyDocumentError, KeyStore
from productstore_auth.app.data.signing_keys import CassandraKeyStore
from productstore_auth.app.data.vault import VaultKeyStore, VaultUnavailableError
from productstore_auth.app.services.keyring import KeyRing
from productstore_auth.app.services.verification import KeyRingTransport
from productstore_common.auth import (
    JwksClient,
    access_token_claims,
    sign_access_token,
    verify_access_token,
)
from productstore_common.auth.jwks import MAX_DOCUMENT_BYTES
from productstore_common.cassandra import CassandraSession

pytestmark = pytest.mark.anyio

StoreFactory = Callable[[], KeyStore]


@pytest.fixture(params=["vault", "cassandra"])
async def new_store(
    request: pytest.FixtureRequest,
    openbao: OpenBao,
    migrated_db: tuple[CassandraSession, str],
) -> AsyncIterator[StoreFactory]:
    """Makes stores that all see one (new, empty) key set, like replicas do."""
    if request.param == "vault":
        path = f"productstore-tests/keyring-{uuid.uuid4().hex}"

        def vault() -> KeyStore:
            return VaultKeyStore(addr=openbao.addr, mount=KV_MOUNT, path=path, token=openbao.token)

        yield vault
        openbao.client().secrets.kv.v2.delete_metadata_and_all_versions(
            path=path, mount_point=KV_MOUNT
        )
    else:
        db, keyspace = migrated_db
        await db.execute_async(f"TRUNCATE {keyspace}.signing_keys")
        yield lambda: CassandraKeyStore(db, keyspace)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


RETIRE_AFTER = timedelta(seconds=990)  # a 15-minute token, leeway and skew


def _ring(store: KeyStore, clock: Clock | None = None, delay: float = 0) -> KeyRing:
    # reload_interval 0: every call re-reads the store, as if much time had passed.
    return KeyRing(
        store,
        activation_delay=timedelta(seconds=delay),
        reload_interval=0.0,
        retire_after=RETIRE_AFTER,
        clock=clock or Clock(),
    )


async def _kids(ring: KeyRing) -> set[str]:
    return {key["kid"] for key in (await ring.jwks())["keys"]}


async def test_replicas_starting_together_agree_on_one_first_key(
    new_store: StoreFactory,
) -> None:
    # Each replica has its own clock, a little behind the next one's.
    rings = [_ring(new_store()) for _ in range(3)]
    await asyncio.gather(*(ring.start() for ring in rings))
    signing = {(await ring.signing_key())[0] for ring in rings}
    assert len(signing) == 1
    for ring in rings:
        assert await _kids(ring) == signing


async def test_concurrent_rotations_lose_no_key(new_store: StoreFactory) -> None:
    first, second = _ring(new_store()), _ring(new_store())
    await first.start()
    await second.start()
    rotations = await asyncio.gather(first.rotate(), second.rotate())
    published = await _kids(first)
    assert {rotation.kid for rotation in rotations} <= published
    assert await _kids(second) == published


async def test_a_rotated_key_is_published_before_it_signs(new_store: StoreFactory) -> None:
    clock = Clock()
    ring = _ring(new_store(), clock, delay=300)
    await ring.start()
    old_kid, _ = await ring.signing_key()

    rotation = await ring.rotate()
    assert rotation.activates_at == clock.now + timedelta(seconds=300)
    assert await _kids(ring) == {old_kid, rotation.kid}
    assert (await ring.signing_key())[0] == old_kid

    clock.now += timedelta(seconds=301)
    assert (await ring.signing_key())[0] == rotation.kid
    # Another replica sees the same.
    other = _ring(new_store(), clock)
    await other.start()
    assert (await other.signing_key())[0] == rotation.kid


async def test_rotation_keeps_keys_while_their_tokens_live(new_store: StoreFactory) -> None:
    clock = Clock()
    ring = _ring(new_store(), clock)
    await ring.start()
    kids = [(await ring.signing_key())[0]]
    for _ in range(3):
        clock.now += timedelta(seconds=1)
        kids.append((await ring.rotate()).kid)
    # Tokens of every key may still be valid: all stay published.
    assert await _kids(ring) == set(kids)
    # Once the tokens of the first three can no longer be valid, the next rotation
    # drops them.
    clock.now += RETIRE_AFTER + timedelta(seconds=1)
    last = (await ring.rotate()).kid
    assert await _kids(ring) == {kids[-1], last}


async def test_300_rotations_keep_the_jwks_bounded_and_verifiable(
    new_store: StoreFactory,
) -> None:
    """Issue 10, finding 8: every rotation used to add a pending key that nothing
    removed; after ~280 the JWKS passed the 64 KiB every verifier accepts, and no
    token verified anywhere."""
    clock = Clock()
    ring = _ring(new_store(), clock, delay=330)
    await ring.start()
    for _ in range(300):
        clock.now += timedelta(seconds=1)
        await ring.rotate()
    jwks = await ring.jwks()
    assert len(jwks["keys"]) <= MAX_PUBLISHED_KEYS
    assert len(json.dumps(jwks).encode()) < MAX_DOCUMENT_BYTES // 10

    # A verifier with this JWKS (over HTTP, like every other service) accepts a fresh
    # token of the key in force once the newest key signs.
    clock.now += timedelta(seconds=331)
    kid, private = await ring.signing_key()
    token = sign_access_token(
        access_token_claims(issuer="iss", audience="aud", subject="u", token_type="user"),
        private,
        kid,
    )
    verifier = JwksClient(
        "http://auth.test/jwks",
        http=httpx.AsyncClient(transport=KeyRingTransport(ring)),
    )
    try:
        principal = await verify_access_token(token, jwks=verifier, issuer="iss", audience="aud")
    finally:
        await verifier.aclose()
    assert principal.sub == "u"


async def test_a_corrupt_key_document_fails_loudly(
    openbao: OpenBao,
) -> None:
    path = f"productstore-tests/keyring-{uuid.uuid4().hex}"
    client = openbao.client()
    client.secrets.kv.v2.create_or_update_secret(
        path=path, secret={"format": 99, "keys": []}, mount_point=KV_MOUNT
    )
    try:
        store = VaultKeyStore(addr=openbao.addr, mount=KV_MOUNT, path=path, token=openbao.token)
        with pytest.raises(KeyDocumentError, match="newer version"):
            await _ring(store).start()
    finally:
        client.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point=KV_MOUNT)


async def test_a_token_without_rights_gets_a_clear_error(openbao: OpenBao) -> None:
    client = openbao.client()
    weak = client.auth.token.create(policies=["default"], ttl="5m")["auth"]["client_token"]
    store = VaultKeyStore(
        addr=openbao.addr, mount=KV_MOUNT, path="productstore-tests/forbidden", token=weak
    )
    with pytest.raises(VaultUnavailableError, match="403"):
        await _ring(store).start()
