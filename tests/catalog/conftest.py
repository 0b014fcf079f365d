"""Fixtures of the catalog tests: one keyspace and topic per session (dropped at the
end), an auth service serving real tokens and its JWKS over HTTP, and one catalog app
per test module, run in-process with its lifespan."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.openbao import OpenBao
from devstack.components.redis import Redis
from productstore_auth.app.main import create_app as create_auth_app
from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.data import migrations_dir
from tests.auth.support import ADMIN_PASSWORD, PASSWORD, cleanup, service_settings, unique_email
from tests.catalog.support import (
    AuthServer,
    Backing,
    Tokens,
    asgi_client,
    catalog_settings,
    running_app,
    serve_in_thread,
)
from tests.support.keyspaces import migrated_keyspace, topics

JWKS_PATH = "/api/auth/.well-known/jwks.json"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    # Module scope, so the module's app (an async fixture) lives across its tests.
    return "asyncio"


@pytest.fixture(scope="session")
def backing(cassandra: Cassandra, kafka: Kafka) -> Iterator[Backing]:
    """A migrated keyspace and fresh topics (with their .dlq) for this test session."""
    suffix = uuid.uuid4().hex[:12]
    found = Backing(
        keyspace=f"catalog_{suffix}",
        topic=f"catalog-test-{suffix}",
        inventory_topic=f"catalog-test-inventory-{suffix}",
        reviews_topic=f"catalog-test-reviews-{suffix}",
    )
    with (
        migrated_keyspace(cassandra, found.keyspace, migrations_dir()),
        topics(kafka, [found.topic, found.inventory_topic, found.reviews_topic]),
    ):
        yield found


@pytest.fixture(scope="session")
def auth_server(
    cassandra: Cassandra, redis_server: Redis, openbao: OpenBao
) -> Iterator[AuthServer]:
    """An auth service of its own (keyspace, Vault path, first admin) served over HTTP on
    loopback, so the catalog fetches its JWKS the way it does in production."""
    settings = service_settings(
        cassandra, redis_server, openbao, access_token_lifetime_seconds=3600
    )
    assert settings.first_admin_email is not None
    try:
        with serve_in_thread(create_auth_app(settings)) as url:
            yield AuthServer(url=url, admin_email=settings.first_admin_email)
    finally:
        cleanup(settings, cassandra, openbao)


@pytest.fixture(scope="session")
def tokens(auth_server: AuthServer) -> Tokens:
    """Access tokens of an administrator and of a plain user, minted by that auth service."""
    with httpx.Client(base_url=auth_server.url, timeout=30) as http:
        admin = http.post(
            "/api/auth/login",
            json={"email": auth_server.admin_email, "password": ADMIN_PASSWORD},
        ).raise_for_status()
        email = unique_email("catalog-user")
        http.post(
            "/api/auth/register", json={"email": email, "name": "Ada", "password": PASSWORD}
        ).raise_for_status()
        user = http.post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}
        ).raise_for_status()
    return Tokens(admin=admin.json()["access_token"], user=user.json()["access_token"])


@pytest.fixture(scope="module")
def settings(
    cassandra: Cassandra,
    redis_server: Redis,
    kafka: Kafka,
    backing: Backing,
    auth_server: AuthServer,
) -> CatalogSettings:
    return catalog_settings(cassandra, redis_server, kafka, backing, auth_server.url + JWKS_PATH)


@pytest.fixture(scope="module")
async def app(settings: CatalogSettings) -> AsyncIterator[FastAPI]:
    async with running_app(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as test_client:
        yield test_client
