"""Role epochs in the shared Redis: a demoted or disabled user's older tokens lose their
roles in every service's role checks, within the cache time, at one GET per user."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis.asyncio as redis
from fastapi.testclient import TestClient
from pydantic import HttpUrl

from devstack.components.redis import Redis
from productstore_common.auth import AuthConfig, RoleEpochs, RoleEpochsUnavailableError
from productstore_common.auth.revocation import KEY_PREFIX
from tests.common.auth.authapp import build_app
from tests.common.auth.conftest import Mint
from tests.common.auth.support import AUDIENCE, ISSUER, JwksServer
from tests.support.problems import assert_problem, bearer

pytestmark = pytest.mark.anyio


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_epoch_refuses_older_tokens_and_expires(redis_client: redis.Redis) -> None:
    epochs = RoleEpochs(redis_client, issuer=ISSUER)
    sub = f"user-{uuid.uuid4()}"
    assert await epochs.valid_after(sub) is None
    issued = time.time()
    await epochs.revoke(sub, lifetime_seconds=60)
    epoch = await epochs.valid_after(sub)
    assert epoch is not None and issued < epoch <= issued + 1
    assert not await epochs.current(sub, datetime.fromtimestamp(int(issued), UTC))
    assert await epochs.current(sub, datetime.fromtimestamp(epoch, UTC))
    # The record lives as long as a token can, and not in clear.
    key = epochs.key(sub)
    assert key.startswith(KEY_PREFIX) and sub not in key
    assert 0 < await redis_client.ttl(key) <= 60
    await redis_client.delete(key)


async def test_another_process_sees_a_change_within_the_cache_time(
    redis_client: redis.Redis,
) -> None:
    ticks = Ticks()
    writer = RoleEpochs(redis_client, issuer=ISSUER)
    reader = RoleEpochs(redis_client, issuer=ISSUER, cache_seconds=5, monotonic=ticks)
    sub = f"user-{uuid.uuid4()}"
    assert await reader.valid_after(sub) is None
    await writer.revoke(sub, lifetime_seconds=60)
    ticks.now += 4.9
    assert await reader.valid_after(sub) is None  # cached: the bound on staleness
    ticks.now += 0.2
    assert await reader.valid_after(sub) is not None
    await redis_client.delete(writer.key(sub))


async def test_the_cache_is_bounded(redis_client: redis.Redis) -> None:
    epochs = RoleEpochs(redis_client, issuer=ISSUER, cache_size=3)
    for n in range(10):
        await epochs.valid_after(f"user-{n}")
    assert len(epochs._cache) == 3


async def test_redis_down_fails_closed() -> None:
    # A port nothing listens on: a fault of this test's own.
    epochs = RoleEpochs.from_url("redis://127.0.0.1:1/0", issuer=ISSUER, cache_seconds=5)
    try:
        with pytest.raises(RoleEpochsUnavailableError):
            await epochs.valid_after("user-1")
        with pytest.raises(RoleEpochsUnavailableError):
            await epochs.revoke("user-1", lifetime_seconds=60)
    finally:
        await epochs.aclose()


@pytest.fixture
def revoking_client(jwks_server: JwksServer, redis_server: Redis) -> Iterator[TestClient]:
    config = AuthConfig(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_url=HttpUrl(jwks_server.url),
        roles_redis_url=redis_server.env()["REDIS_URL"],
        role_epoch_cache_seconds=0,
    )
    with TestClient(build_app(config)) as client:
        yield client


async def test_role_checks_refuse_a_token_older_than_the_users_epoch(
    revoking_client: TestClient, mint: Mint, redis_server: Redis, redis_client: redis.Redis
) -> None:
    sub = f"admin-{uuid.uuid4()}"
    before = mint(roles=["admin"], subject=sub, iat=int(time.time()) - 5)
    assert revoking_client.get("/admin", headers=bearer(before)).status_code == 200

    writer = RoleEpochs(redis_client, issuer=ISSUER)
    await writer.revoke(sub, lifetime_seconds=60)
    epoch = await writer.valid_after(sub)
    assert epoch is not None

    refused = revoking_client.get("/admin", headers=bearer(before))
    assert_problem(refused, 401, "token_revoked")
    assert revoking_client.get("/user-role", headers=bearer(before)).status_code == 401
    # Routes that need no role do not ask.
    assert revoking_client.get("/me", headers=bearer(before)).status_code == 200
    # A token issued since (a refresh) passes; other users are untouched.
    after = mint(roles=["admin"], subject=sub, iat=int(epoch))
    assert revoking_client.get("/admin", headers=bearer(after)).status_code == 200
    other = mint(roles=["admin"], subject=f"admin-{uuid.uuid4()}")
    assert revoking_client.get("/admin", headers=bearer(other)).status_code == 200
    await redis_client.delete(writer.key(sub))


def test_role_checks_answer_503_while_redis_is_down(jwks_server: JwksServer, mint: Mint) -> None:
    config = AuthConfig(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_url=HttpUrl(jwks_server.url),
        roles_redis_url="redis://127.0.0.1:1/0",
    )
    with TestClient(build_app(config)) as client:
        response = client.get("/admin", headers=bearer(mint(roles=["admin"])))
        assert_problem(response, 503, "roles_unavailable")
        assert response.headers["retry-after"] == "1"
        # Public and plain user routes do not depend on it.
        assert client.get("/me", headers=bearer(mint(roles=["admin"]))).status_code == 200
