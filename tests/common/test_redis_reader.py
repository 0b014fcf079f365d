"""RedisReader against the devstack Redis: values, order under concurrency, errors,
timeouts, lost connections, AUTH and SELECT."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from devstack.components.redis import Redis
from productstore_common.redis_reader import RedisReader, RedisReadError

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def url(redis_server: Redis) -> str:
    return redis_server.env()["REDIS_URL"]


@pytest.fixture
async def reader(url: str) -> AsyncIterator[RedisReader]:
    reader = RedisReader(url, client_name=f"test-reader-{uuid.uuid4().hex[:8]}")
    try:
        yield reader
    finally:
        await reader.aclose()


@pytest.fixture
def prefix() -> str:
    return f"reader-test-{uuid.uuid4().hex[:12]}"


async def test_get_and_mget(reader: RedisReader, redis_client: aioredis.Redis, prefix: str) -> None:
    payload = bytes(range(256)) * 40  # binary, longer than one read of the socket
    await redis_client.set(f"{prefix}:a", payload, ex=60)
    await redis_client.set(f"{prefix}:b", b"", ex=60)
    assert await reader.get(f"{prefix}:a") == payload
    assert await reader.get(f"{prefix}:b".encode()) == b""
    assert await reader.get(f"{prefix}:missing") is None
    assert await reader.mget([f"{prefix}:a", f"{prefix}:missing", f"{prefix}:b"]) == [
        payload,
        None,
        b"",
    ]
    assert await reader.mget([]) == []


async def test_concurrent_reads_get_their_own_values(
    reader: RedisReader, redis_client: aioredis.Redis, prefix: str
) -> None:
    values = {f"{prefix}:{i}": f"value-{i}".encode() * (i % 7 + 1) for i in range(500)}
    await redis_client.mset(values)
    try:
        keys = list(values)
        results = await asyncio.gather(*(reader.get(key) for key in keys))
        assert results == [values[key] for key in keys]
    finally:
        await redis_client.delete(*values)


async def test_a_cancelled_read_does_not_shift_the_replies(
    reader: RedisReader, redis_client: aioredis.Redis, prefix: str
) -> None:
    await redis_client.mset({f"{prefix}:x": b"x", f"{prefix}:y": b"y"})
    try:
        first = asyncio.ensure_future(reader.get(f"{prefix}:x"))
        second = asyncio.ensure_future(reader.get(f"{prefix}:y"))
        await asyncio.sleep(0)  # both sent
        first.cancel()
        assert await second == b"y"
        assert first.cancelled()
        assert await reader.get(f"{prefix}:x") == b"x"
    finally:
        await redis_client.delete(f"{prefix}:x", f"{prefix}:y")


async def test_an_error_reply_fails_only_its_command(
    reader: RedisReader, redis_client: aioredis.Redis, prefix: str
) -> None:
    await redis_client.rpush(f"{prefix}:list", b"item")
    await redis_client.set(f"{prefix}:s", b"ok")
    try:
        with pytest.raises(RedisReadError, match="WRONGTYPE"):
            await reader.get(f"{prefix}:list")
        assert await reader.get(f"{prefix}:s") == b"ok"
    finally:
        await redis_client.delete(f"{prefix}:list", f"{prefix}:s")


@pytest.mark.serial  # in make test: CLIENT PAUSE stops every client of the shared Redis
async def test_no_reply_in_time_fails_and_the_next_read_reconnects(
    url: str, redis_client: aioredis.Redis, prefix: str
) -> None:
    reader = RedisReader(url, timeout_seconds=0.2, retry_after_seconds=0.0)
    try:
        await redis_client.set(f"{prefix}:k", b"v", ex=60)
        assert await reader.get(f"{prefix}:k") == b"v"
        await redis_client.client_pause(600)  # Redis stops answering
        with pytest.raises(RedisReadError, match=r"no reply from Redis within 0\.2 s"):
            await reader.get(f"{prefix}:k")
        await asyncio.sleep(0.5)  # the pause is over
        assert await reader.get(f"{prefix}:k") == b"v"
    finally:
        await redis_client.client_unpause()
        await redis_client.delete(f"{prefix}:k")
        await reader.aclose()


async def test_a_killed_connection_fails_what_was_in_flight_and_reconnects(
    url: str, redis_client: aioredis.Redis, prefix: str
) -> None:
    name = f"test-killed-{uuid.uuid4().hex[:8]}"
    reader = RedisReader(url, client_name=name, retry_after_seconds=0.0)
    try:
        await redis_client.set(f"{prefix}:k", b"v", ex=60)
        assert await reader.get(f"{prefix}:k") == b"v"
        clients = await redis_client.client_list()
        (connection,) = [c for c in clients if c["name"] == name]
        await redis_client.client_kill_filter(_id=connection["id"])
        failures = 0
        for _ in range(50):  # the loss is noticed when the socket's close is read
            try:
                assert await reader.get(f"{prefix}:k") == b"v"
                break
            except RedisReadError as exc:
                assert "connection lost" in str(exc)
                failures += 1
                await asyncio.sleep(0.01)
        else:
            pytest.fail("the reader did not reconnect")
        assert failures <= 1
        assert [c for c in await redis_client.client_list() if c["name"] == name]
    finally:
        await redis_client.delete(f"{prefix}:k")
        await reader.aclose()


async def test_redis_down_fails_fast_until_the_retry_time() -> None:
    # Nothing listens on port 1 of loopback.
    reader = RedisReader("redis://127.0.0.1:1/0", retry_after_seconds=30)
    try:
        with pytest.raises(RedisReadError, match="cannot connect to Redis"):
            await reader.get("k")
        with pytest.raises(RedisReadError, match="Redis unavailable: cannot connect"):
            await reader.mget(["k"])
    finally:
        await reader.aclose()


async def test_auth_and_select(url: str, redis_client: aioredis.Redis, prefix: str) -> None:
    user, password = f"reader-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    await redis_client.acl_setuser(
        user,
        enabled=True,
        passwords=[f"+{password}"],
        keys=[f"{prefix}:*"],
        commands=["+get", "+mget", "+select", "+client|setname"],
    )
    db3 = aioredis.Redis.from_url(url.rsplit("/", 1)[0] + "/3")
    try:
        await db3.set(f"{prefix}:in-3", b"three", ex=60)
        base = url.removeprefix("redis://").rsplit("/", 1)[0]
        reader = RedisReader(f"redis://{user}:{password}@{base}/3", client_name="acl-reader")
        try:
            assert await reader.get(f"{prefix}:in-3") == b"three"
        finally:
            await reader.aclose()
        wrong = RedisReader(f"redis://{user}:not-{password}@{base}/3")
        try:
            with pytest.raises(RedisReadError, match="WRONGPASS"):
                await wrong.get(f"{prefix}:in-3")
        finally:
            await wrong.aclose()
    finally:
        await db3.delete(f"{prefix}:in-3")
        await db3.aclose()
        await redis_client.acl_deluser(user)


async def test_a_closed_reader_refuses_reads(url: str) -> None:
    reader = RedisReader(url)
    await reader.get("anything")
    await reader.aclose()
    with pytest.raises(RedisReadError, match="closed"):
        await reader.get("anything")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:6379", "unsupported Redis URL scheme 'http'"),
        ("redis://127.0.0.1:6379/zero", "must be a number, not 'zero'"),
        ("unix:///run/redis.sock?db=x", "must be a number, not 'x'"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedisReader(url)
