"""Fixtures of the notifications tests: a keyspace and topics per module, an auth service
that knows this service's client, Mailpit, devstack's catalog (product names), and the
module's app in-process."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.mailpit import Mailpit
from devstack.components.nginx import Nginx
from devstack.components.openbao import OpenBao
from devstack.components.redis import Redis
from devstack.components.services import AuthService, CatalogService
from productstore_auth.app.main import create_app as create_auth_app
from productstore_notifications.app.core.config import NotificationsSettings
from productstore_notifications.app.data import migrations_dir
from productstore_notifications.app.main import create_app
from tests.auth.support import cleanup, service_settings
from tests.catalog.support import AuthServer, asgi_client, serve_in_thread, wait_ready
from tests.notifications.chat import Product, catalog_product
from tests.notifications.support import (
    NOTIFY_CLIENT,
    NOTIFY_SECRET,
    Backing,
    MailpitReader,
    User,
    new_user,
    notifications_settings,
)
from tests.support.keyspaces import migrated_keyspace, topics


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def notify_auth(
    cassandra: Cassandra, redis_server: Redis, openbao: OpenBao
) -> Iterator[AuthServer]:
    """An auth service of its own over HTTP whose service clients include this service's."""
    clients = {NOTIFY_CLIENT: {"secret": NOTIFY_SECRET, "audiences": ["auth"]}}
    settings = service_settings(
        cassandra,
        redis_server,
        openbao,
        access_token_lifetime_seconds=3600,
        service_clients=json.dumps(clients),
    )
    assert settings.first_admin_email is not None
    try:
        with serve_in_thread(create_auth_app(settings)) as url:
            yield AuthServer(url=url, admin_email=settings.first_admin_email)
    finally:
        cleanup(settings, cassandra, openbao)


@pytest.fixture(scope="module")
def backing(cassandra: Cassandra, kafka: Kafka) -> Iterator[Backing]:
    suffix = uuid.uuid4().hex[:12]
    found = Backing(
        keyspace=f"notifications_{suffix}",
        orders_topic=f"notify-orders-{suffix}",
        wishlist_topic=f"notify-wishlist-{suffix}",
        inventory_topic=f"notify-inventory-{suffix}",
        reviews_topic=f"notify-reviews-{suffix}",
    )
    made = [found.orders_topic, found.wishlist_topic, found.inventory_topic, found.reviews_topic]
    with (
        migrated_keyspace(cassandra, found.keyspace, migrations_dir()),
        topics(kafka, made),
    ):
        yield found


@pytest.fixture(scope="module")
def settings(  # noqa: PLR0917 (fixtures)
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    mailpit: Mailpit,
    backing: Backing,
    notify_auth: AuthServer,
    catalog_service: CatalogService,
) -> NotificationsSettings:
    return notifications_settings(
        cassandra,
        kafka,
        redis_server,
        mailpit,
        backing,
        notify_auth.url,
        catalog_url=catalog_service.url,
    )


@pytest.fixture(scope="module")
async def app(settings: NotificationsSettings) -> AsyncIterator[FastAPI]:
    running = create_app(settings)
    async with running.router.lifespan_context(running):
        await wait_ready(running)
        yield running


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def user_factory(notify_auth: AuthServer) -> Callable[[], User]:
    return lambda: new_user(notify_auth.url)


@pytest.fixture(scope="module")
def product(
    catalog_service: CatalogService, auth_service: AuthService, nginx: Nginx
) -> Iterator[Product]:
    """A product of the module's own in devstack's catalog (messages name it)."""
    with catalog_product(catalog_service, auth_service, nginx.url) as made:
        yield made


@pytest.fixture(scope="session")
def mail(mailpit: Mailpit) -> MailpitReader:
    return MailpitReader(mailpit)
