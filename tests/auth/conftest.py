"""Fixtures of the auth service's tests: one service (keyspace, Redis prefix, Vault path)
per test module, run in-process with its lifespan."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.openbao import OpenBao
from devstack.components.redis import Redis
from productstore_auth.app.core.config import AuthSettings
from productstore_auth.app.data import migrations_dir
from productstore_common.cassandra import CassandraSession
from tests.auth.support import (
    ADMIN_PASSWORD,
    asgi_client,
    cleanup,
    login,
    running_app,
    service_settings,
)
from tests.support.keyspaces import migrated_keyspace


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    # Module scope, so the module's app (an async fixture) lives across its tests.
    return "asyncio"


@pytest.fixture(scope="module")
def auth_settings(
    cassandra: Cassandra, redis_server: Redis, openbao: OpenBao
) -> Iterator[AuthSettings]:
    settings = service_settings(
        cassandra, redis_server, openbao, login_attempts_per_account=5, login_attempts_per_ip=40
    )
    yield settings
    cleanup(settings, cassandra, openbao)


@pytest.fixture(scope="module")
def migrated_db(cassandra: Cassandra) -> Iterator[tuple[CassandraSession, str]]:
    """A session and a fresh keyspace with the service's migrations applied, for tests
    of the data layer without an app."""
    keyspace = f"auth_{uuid.uuid4().hex[:12]}"
    with migrated_keyspace(cassandra, keyspace, migrations_dir()) as db:
        yield db, keyspace


@pytest.fixture(scope="module")
async def app(auth_settings: AuthSettings) -> AsyncIterator[FastAPI]:
    async with running_app(auth_settings) as running:
        yield running


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
async def admin_token(client: httpx.AsyncClient, auth_settings: AuthSettings) -> str:
    """An access token of the first administrator that the settings create."""
    assert auth_settings.first_admin_email is not None
    tokens = await login(client, auth_settings.first_admin_email, ADMIN_PASSWORD)
    token: str = tokens["access_token"]
    return token
