"""Fixtures every test package uses (devstack's servers come from devstack.pytest_plugin)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from devstack.components.redis import Redis


@pytest.fixture
async def redis_client(redis_server: Redis) -> AsyncIterator[redis.Redis]:
    """A plain redis.asyncio client of the devstack Redis, closed after the test."""
    connection = redis.Redis.from_url(redis_server.env()["REDIS_URL"])
    try:
        yield connection
    finally:
        await connection.aclose()
