"""JwksClient against a JWKS served over HTTP: caching, coalescing, what it refuses."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from productstore_common.auth.jwks import MAX_DOCUMENT_BYTES, JwksClient, JwksUnavailableError
from productstore_common.auth.keys import SigningKey, generate_signing_key, public_jwk
from tests.common.auth.support import FakeClock, JwksServer

pytestmark = pytest.mark.anyio

TTL = 300.0
INTERVAL = 10.0
MAX_STALE = 600.0


def _client(server: JwksServer, clock: FakeClock, *, timeout: float = 2.0) -> JwksClient:
    return JwksClient(
        server.url,
        ttl=TTL,
        min_refresh_interval=INTERVAL,
        max_stale=MAX_STALE,
        timeout=timeout,
        clock=clock,
    )


def _same_key(found: object, signing_key: SigningKey) -> bool:
    return (
        isinstance(found, ec.EllipticCurvePublicKey)
        and found.public_numbers() == signing_key.public_key().public_numbers()
    )


async def test_keys_are_fetched_once_and_served_from_cache(
    jwks_server: JwksServer, signing_key: SigningKey, kid: str
) -> None:
    clock = FakeClock()
    async with _client(jwks_server, clock) as jwks:
        for _ in range(5):
            assert _same_key(await jwks.get_key(kid), signing_key)
            clock.advance(TTL / 10)
        assert jwks_server.requests == 1

        clock.advance(TTL)  # past the TTL: the next use fetches again
        assert _same_key(await jwks.get_key(kid), signing_key)
        assert jwks_server.requests == 2


async def test_concurrent_cold_start_shares_one_request(
    jwks_server: JwksServer, signing_key: SigningKey, kid: str
) -> None:
    document = json.dumps({"keys": [public_jwk(signing_key, kid)]}).encode()
    jwks_server.serve(document, delay=0.3)  # slow enough that all 20 wait on one fetch
    async with _client(jwks_server, FakeClock()) as jwks:
        keys = await asyncio.gather(*(jwks.get_key(kid) for _ in range(20)))

    assert all(_same_key(key, signing_key) for key in keys)
    assert jwks_server.requests == 1


async def test_unknown_kids_refresh_at_most_once_per_interval(
    jwks_server: JwksServer, signing_key: SigningKey, kid: str
) -> None:
    clock = FakeClock()
    async with _client(jwks_server, clock) as jwks:
        assert await jwks.get_key(kid) is not None
        clock.advance(INTERVAL + 1)

        # A flood of invented kids, one after another and all at once.
        for _ in range(50):
            assert await jwks.get_key(uuid.uuid4().hex) is None
        flood = await asyncio.gather(*(jwks.get_key(uuid.uuid4().hex) for _ in range(50)))
        assert flood == [None] * 50
        assert jwks_server.requests == 2  # the first fetch plus one refresh

        clock.advance(INTERVAL + 1)
        assert await jwks.get_key(uuid.uuid4().hex) is None
        assert jwks_server.requests == 3
        # The known key was served from cache throughout.
        assert _same_key(await jwks.get_key(kid), signing_key)
        assert jwks_server.requests == 3


async def test_retired_key_disappears_at_the_next_refresh(
    jwks_server: JwksServer, signing_key: SigningKey, kid: str
) -> None:
    clock = FakeClock()
    successor = generate_signing_key()
    async with _client(jwks_server, clock) as jwks:
        assert await jwks.get_key(kid) is not None
        jwks_server.publish({"successor": successor})
        clock.advance(TTL)
        assert await jwks.get_key(kid) is None
        assert await jwks.get_key("successor") is not None


BAD_ANSWERS = [
    pytest.param(200, b"not json", id="not-json"),
    pytest.param(200, b"[]", id="json-array"),
    pytest.param(200, b'{"no": "keys"}', id="no-keys-member"),
    pytest.param(200, b'{"keys": []}', id="empty-keys"),
    pytest.param(200, json.dumps({"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}).encode(),
                 id="only-unusable-keys"),
    pytest.param(200, json.dumps({"keys": [], "pad": "x" * MAX_DOCUMENT_BYTES}).encode(),
                 id="oversized"),
    pytest.param(500, b'{"keys": []}', id="http-500"),
    pytest.param(404, b"", id="http-404"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "body"), BAD_ANSWERS)
async def test_bad_answer_at_cold_start_means_unavailable(
    jwks_server: JwksServer, kid: str, status: int, body: bytes
) -> None:
    jwks_server.serve(body, status=status)
    async with _client(jwks_server, FakeClock()) as jwks:
        with pytest.raises(JwksUnavailableError, match="has not been fetched yet") as raised:
            await jwks.get_key(kid)
    assert raised.value.retry_after == INTERVAL
    assert jwks_server.requests == 1


@pytest.mark.parametrize(("status", "body"), BAD_ANSWERS)
async def test_bad_answer_later_keeps_the_last_good_keys(
    jwks_server: JwksServer, signing_key: SigningKey, kid: str, status: int, body: bytes
) -> None:
    clock = FakeClock()
    async with _client(jwks_server, clock) as jwks:
        assert await jwks.get_key(kid) is not None
        jwks_server.serve(body, status=status)
        clock.advance(TTL)
        assert _same_key(await jwks.get_key(kid), signing_key)
    assert jwks_server.requests == 2


async def test_only_es256_verification_keys_are_taken_from_a_mixed_jwks(
    jwks_server: JwksServer, signing_key: SigningKey
) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    p384_key = ec.generate_private_key(ec.SECP384R1()).public_key()
    other = generate_signing_key()
    keys = [
        {**RSAAlgorithm.to_jwk(rsa_key, as_dict=True), "kid": "rsa"},
        {**ECAlgorithm.to_jwk(p384_key, as_dict=True), "kid": "p384"},
        {**public_jwk(other, "for-encryption"), "use": "enc"},
        {**public_jwk(other, "leaked"), "d": "AAAA"},
        public_jwk(other, "twice"),
        public_jwk(signing_key, "twice"),
        public_jwk(signing_key, "good"),
    ]
    jwks_server.serve(json.dumps({"keys": keys}).encode())
    async with _client(jwks_server, FakeClock()) as jwks:
        assert _same_key(await jwks.get_key("good"), signing_key)
        for refused in ("rsa", "p384", "for-encryption", "leaked", "twice"):
            assert await jwks.get_key(refused) is None, refused


async def test_slow_auth_service_times_out(jwks_server: JwksServer, kid: str) -> None:
    document = json.dumps({"keys": []}).encode()
    jwks_server.serve(document, delay=2.0)
    started = time.monotonic()
    async with _client(jwks_server, FakeClock(), timeout=0.2) as jwks:
        with pytest.raises(JwksUnavailableError, match="ReadTimeout"):
            await jwks.get_key(kid)
    assert time.monotonic() - started < 1.5


async def test_staleness_is_bounded(
    jwks_server: JwksServer, signing_key: SigningKey, kid: str
) -> None:
    clock = FakeClock()
    async with _client(jwks_server, clock) as jwks:
        assert await jwks.get_key(kid) is not None
        jwks_server.stop()

        clock.advance(TTL + MAX_STALE - 1)  # stale, within the bound: still served
        assert _same_key(await jwks.get_key(kid), signing_key)

        clock.advance(INTERVAL + 1)  # past TTL + max_stale: fail closed
        with pytest.raises(JwksUnavailableError, match="allowed staleness"):
            await jwks.get_key(kid)

        jwks_server.start()  # the auth service is back
        clock.advance(INTERVAL + 1)
        assert _same_key(await jwks.get_key(kid), signing_key)
