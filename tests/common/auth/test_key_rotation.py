"""Token verification across the auth service's key rotations and outages."""

from __future__ import annotations

import uuid

import pytest

from productstore_common.auth import (
    AuthUnavailableError,
    InvalidTokenError,
    JwksClient,
    Principal,
    verify_access_token,
)
from productstore_common.auth.keys import SigningKey, generate_signing_key, jwk_thumbprint
from tests.common.auth.conftest import Mint
from tests.common.auth.support import AUDIENCE, ISSUER, FakeClock, JwksServer

pytestmark = pytest.mark.anyio

TTL = 300.0
INTERVAL = 10.0
MAX_STALE = 600.0


def _jwks(server: JwksServer, clock: FakeClock) -> JwksClient:
    return JwksClient(
        server.url, ttl=TTL, min_refresh_interval=INTERVAL, max_stale=MAX_STALE, clock=clock
    )


async def _verify(token: str, jwks: JwksClient) -> Principal:
    return await verify_access_token(token, jwks=jwks, issuer=ISSUER, audience=AUDIENCE)


async def test_rotated_key_verifies_after_one_refresh_and_old_key_still_verifies(
    jwks_server: JwksServer, signing_key: SigningKey, kid: str, mint: Mint
) -> None:
    clock = FakeClock()
    async with _jwks(jwks_server, clock) as jwks:
        assert (await _verify(mint(subject="before"), jwks)).sub == "before"
        assert jwks_server.requests == 1

        # The auth service rotates: a new signing key, the old one still published.
        new_key = generate_signing_key()
        new_kid = jwk_thumbprint(new_key)
        jwks_server.publish({kid: signing_key, new_kid: new_key})
        clock.advance(INTERVAL + 1)  # well inside the TTL: only the unknown kid triggers a fetch

        new_token = mint(subject="after", key=new_key, key_id=new_kid)
        assert (await _verify(new_token, jwks)).sub == "after"
        assert jwks_server.requests == 2

        # Tokens signed before the rotation stay valid until they expire.
        assert (await _verify(mint(subject="before"), jwks)).sub == "before"
        assert (await _verify(new_token, jwks)).sub == "after"
        assert jwks_server.requests == 2


async def test_flood_of_unknown_kids_costs_the_auth_service_one_request(
    jwks_server: JwksServer, mint: Mint, kid: str
) -> None:
    clock = FakeClock()
    async with _jwks(jwks_server, clock) as jwks:
        await _verify(mint(), jwks)
        clock.advance(INTERVAL + 1)
        for _ in range(100):
            with pytest.raises(InvalidTokenError) as raised:
                await _verify(mint(key_id=uuid.uuid4().hex), jwks)
            assert raised.value.reason == "unknown_kid"
    assert jwks_server.requests <= 2


async def test_tokens_verify_while_the_auth_service_is_down_within_the_staleness_bound(
    jwks_server: JwksServer, mint: Mint
) -> None:
    clock = FakeClock()
    async with _jwks(jwks_server, clock) as jwks:
        await _verify(mint(), jwks)
        jwks_server.stop()

        clock.advance(TTL + 1)
        assert (await _verify(mint(subject="during-outage"), jwks)).sub == "during-outage"
        clock.advance(MAX_STALE - INTERVAL)
        assert (await _verify(mint(subject="still"), jwks)).sub == "still"

        clock.advance(2 * INTERVAL)
        with pytest.raises(AuthUnavailableError) as raised:
            await _verify(mint(), jwks)
        assert raised.value.status == 503
        assert raised.value.headers["Retry-After"] == str(int(INTERVAL))


async def test_no_keys_ever_fetched_is_503_not_401(jwks_server: JwksServer, mint: Mint) -> None:
    jwks_server.stop()
    async with _jwks(jwks_server, FakeClock()) as jwks:
        with pytest.raises(AuthUnavailableError) as raised:
            await _verify(mint(), jwks)
    assert raised.value.extra == {"reason": "keys_unavailable"}
