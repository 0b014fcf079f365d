"""What the auth service's tests share: settings on devstack, an in-process app, helpers."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from cassandra.query import SimpleStatement
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.openbao import KV_MOUNT, OpenBao
from devstack.components.redis import Redis
from productstore_auth.app.core.config import AuthSettings
from productstore_auth.app.main import create_app
from productstore_common.cassandra import CassandraSession

# Re-exported (mypy's explicit form) for the test modules that import them from here.
from tests.support.problems import assert_problem as assert_problem  # noqa: PLC0414
from tests.support.problems import bearer as bearer  # noqa: PLC0414

PASSWORD = "correct horse battery"
ADMIN_PASSWORD = "staple of the realm 7"
# The service client of the service-token tests.
ORDERS_CLIENT = "orders"
ORDERS_SECRET = "orders-secret-0123456789"
ORDERS_AUDIENCES = ("inventory", "catalog")
# The client that reads users' contacts (the notifications service's).
CONTACTS_CLIENT = "notifications"
CONTACTS_SECRET = "notifications-secret-0123456789"


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def service_settings(
    cassandra: Cassandra, redis_server: Redis, openbao: OpenBao, **overrides: Any
) -> AuthSettings:
    """Settings of an auth service on devstack with its own keyspace, Redis prefix and
    Vault path, cheap password hashing, and keys that sign as soon as they exist."""
    name = f"auth_{uuid.uuid4().hex[:12]}"
    values: dict[str, Any] = {
        "environment": "test",
        "cassandra_contact_points": cassandra.contact_points,
        "cassandra_port": cassandra.port,
        # devstack's superuser: each test makes and drops keyspaces of its own.
        "cassandra_username": cassandra.username,
        "cassandra_password": cassandra.password,
        "cassandra_local_dc": cassandra.local_dc,
        "cassandra_keyspace": name,
        "cassandra_consistency": "ONE",
        "migrate_on_start": True,
        "redis_url": redis_server.env()["REDIS_URL"],
        "redis_key_prefix": name,
        "vault_addr": openbao.addr,
        "vault_token": openbao.token,
        "vault_keys_path": f"productstore-tests/{name}/signing-keys",
        "key_activation_delay_seconds": 0,
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 1024,
        "password_hash_parallelism": 1,
        # Long windows: a window boundary inside a test would reset its counts.
        "login_window_seconds": 86400,
        # Every test of a module registers and logs in from one address, and a
        # session-scoped auth (notifications') serves hundreds of logins in a day's
        # window; the limits have their own tests (tests/auth/conftest.py sets them).
        "register_attempts_per_ip": 10_000,
        "login_attempts_per_ip": 10_000,
        "first_admin_email": f"admin-{name}@example.com",
        "first_admin_password": ADMIN_PASSWORD,
        "service_clients": json.dumps(
            {
                ORDERS_CLIENT: {"secret": ORDERS_SECRET, "audiences": list(ORDERS_AUDIENCES)},
                CONTACTS_CLIENT: {"secret": CONTACTS_SECRET, "audiences": ["auth"]},
            }
        ),
    }
    values.update(overrides)
    return AuthSettings(**values)


@asynccontextmanager
async def running_app(settings: AuthSettings) -> AsyncIterator[FastAPI]:
    """The app with its lifespan entered, as uvicorn would run it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def asgi_client(app: FastAPI, client_ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(client_ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://auth.test")


def cleanup(settings: AuthSettings, cassandra: Cassandra, openbao: OpenBao) -> None:
    """Drop what a test module's service created: its keyspace and its Vault secret."""
    db = CassandraSession.connect(
        contact_points=cassandra.contact_points,
        port=cassandra.port,
        local_dc=cassandra.local_dc,
        username=cassandra.username,
        password=cassandra.password,
        consistency="ONE",
    )
    try:
        db.execute(
            SimpleStatement(f"DROP KEYSPACE IF EXISTS {settings.cassandra_keyspace}"), timeout=60
        )
    finally:
        db.close()
    openbao.client().secrets.kv.v2.delete_metadata_and_all_versions(
        path=settings.vault_keys_path, mount_point=KV_MOUNT
    )


async def register(
    client: httpx.AsyncClient,
    email: str | None = None,
    *,
    password: str = PASSWORD,
    name: str = "Ada Lovelace",
) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/register",
        json={"email": email or unique_email(), "name": name, "password": password},
    )
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def new_user(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """A registered user and the tokens of a fresh login."""
    user = await register(client)
    return user, await login(client, user["email"])
