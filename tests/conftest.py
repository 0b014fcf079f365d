"""Fixtures every test package uses (devstack's servers come from devstack.pytest_plugin)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis
from kubernetes import client

from devstack.components.redis import Redis
from tests.support.crd import install_generated_crd


@pytest.fixture
async def redis_client(redis_server: Redis) -> AsyncIterator[redis.Redis]:
    """A plain redis.asyncio client of the devstack Redis, closed after the test."""
    connection = redis.Redis.from_url(redis_server.env()["REDIS_URL"])
    try:
        yield connection
    finally:
        await connection.aclose()


@pytest.fixture(scope="session")
def productstore_crd(kube_api: client.ApiClient) -> dict[str, Any]:
    """The ProductStore CRD of this checkout, installed and served (created or
    replaced, never deleted: it is cluster-wide and shared with other sessions)."""
    return install_generated_crd(kube_api)
