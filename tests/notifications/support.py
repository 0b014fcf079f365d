"""What the notifications tests share: settings on devstack, users with addresses, a
reader of Mailpit's API, events sent as orders sends them, and an SMTP relay to take down."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.mailpit import Mailpit
from devstack.components.redis import Redis
from productstore_common.events import CloudEvent, new_event, to_kafka_record
from productstore_contracts.events.inventory import INVENTORY_SOURCE
from productstore_contracts.events.orders import OrderLine, OrderPlaced
from productstore_contracts.events.reviews import REVIEWS_SOURCE
from productstore_contracts.events.wishlist import WISHLIST_SOURCE
from productstore_notifications.app.core.config import NotificationsSettings
from productstore_notifications.app.main import create_app
from tests.auth.support import ADMIN_PASSWORD, PASSWORD, unique_email
from tests.catalog.support import AuthServer, asgi_client, wait_ready

# Re-exported (mypy's explicit form) for the test modules that import them from here.
from tests.inventory.support import send_order_events as send_order_events  # noqa: PLC0414

NOTIFY_CLIENT = "notifications"
NOTIFY_SECRET = "notifications-secret-0123456789"
UNSUBSCRIBE_KEY = "unsubscribe-key-for-the-tests-0123456789"
DEADLINE_SECONDS = 60.0


@dataclass(frozen=True)
class Backing:
    keyspace: str
    orders_topic: str
    wishlist_topic: str
    inventory_topic: str
    reviews_topic: str


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    token: str


def notifications_settings(  # noqa: PLR0917 (the fixtures it is made of)
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    mailpit: Mailpit,
    backing: Backing,
    auth_url: str,
    **overrides: Any,
) -> NotificationsSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "cassandra_contact_points": cassandra.contact_points,
        "cassandra_port": cassandra.port,
        "cassandra_username": cassandra.username,
        "cassandra_password": cassandra.password,
        "cassandra_local_dc": cassandra.local_dc,
        "cassandra_keyspace": backing.keyspace,
        "cassandra_consistency": "ONE",
        "migrate_on_start": False,
        "kafka_bootstrap_servers": kafka.bootstrap_servers,
        "redis_url": redis_server.env()["REDIS_URL"],
        "orders_topic": backing.orders_topic,
        "wishlist_topic": backing.wishlist_topic,
        "inventory_topic": backing.inventory_topic,
        "reviews_topic": backing.reviews_topic,
        "unsubscribe_key": UNSUBSCRIBE_KEY,
        "public_url": "http://shop.test",
        # Rate limits of this run's own (the admin's budget would outlive the test).
        "redis_key_prefix": f"notifications-test-{uuid.uuid4().hex[:8]}",
        "broadcasts_per_hour": 100,
        "consumer_group": f"notifications-{uuid.uuid4().hex[:8]}",
        "create_topics": False,
        "jwt_jwks_url": auth_url + "/api/auth/.well-known/jwks.json",
        "auth_url": auth_url,
        "auth_client_id": NOTIFY_CLIENT,
        "auth_client_secret": NOTIFY_SECRET,
        "smtp_servers": f"{mailpit.smtp_host}:{mailpit.smtp_port}",
        "retry_initial_seconds": 0.05,
        "retry_max_seconds": 0.2,
    }
    values.update(overrides)
    return NotificationsSettings(**values)


def new_user(auth_url: str, name: str = "Ada") -> User:
    """A freshly registered user (an address of its own, so Mailpit searches find only it)."""
    with httpx.Client(base_url=auth_url, timeout=30) as http:
        email = unique_email("notify")
        created = http.post(
            "/api/auth/register", json={"email": email, "name": name, "password": PASSWORD}
        ).raise_for_status()
        login = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        return User(
            id=uuid.UUID(created.json()["id"]),
            email=email,
            token=login.raise_for_status().json()["access_token"],
        )


def admin_token(auth: AuthServer) -> str:
    login = httpx.post(
        f"{auth.url}/api/auth/login",
        json={"email": auth.admin_email, "password": ADMIN_PASSWORD},
        timeout=30,
    )
    token: str = login.raise_for_status().json()["access_token"]
    return token


class MailpitReader:
    """What arrived at Mailpit, through its HTTP API."""

    def __init__(self, mailpit: Mailpit) -> None:
        self.url = mailpit.url

    def headers(self, message: dict[str, Any]) -> dict[str, list[str]]:
        """Every header of a message Mailpit holds, by name."""
        with httpx.Client(base_url=self.url, timeout=10) as http:
            found: dict[str, list[str]] = (
                http.get(f"/api/v1/message/{message['ID']}/headers").raise_for_status().json()
            )
            return found

    def messages_to(self, address: str) -> list[dict[str, Any]]:
        """Every message to `address`, each with its text and HTML bodies."""
        with httpx.Client(base_url=self.url, timeout=10) as http:
            found = http.get("/api/v1/search", params={"query": f'to:"{address}"'})
            summaries = found.raise_for_status().json()["messages"]
            return [
                http.get(f"/api/v1/message/{m['ID']}").raise_for_status().json() for m in summaries
            ]

    async def wait_for(self, address: str, count: int = 1) -> list[dict[str, Any]]:
        """The messages to `address` once there are at least `count` (bounded)."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            found = await asyncio.to_thread(self.messages_to, address)
            if len(found) >= count:
                return found
            assert time.monotonic() < deadline, f"{count} message(s) to {address} never came"
            await asyncio.sleep(0.2)


class TcpRelay:
    """A TCP relay on loopback in front of a provider (Mailpit's SMTP port, the chat
    stand-ins): a provider of its own that a test takes down (connections refused) and
    brings back on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(*self.target)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            dst.close()

        tasks = [
            asyncio.create_task(pipe(reader, up_writer)),
            asyncio.create_task(pipe(up_reader, writer)),
        ]
        self._tasks.update(tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.difference_update(tasks)


@contextlib.asynccontextmanager
async def relay_to(mailpit: Mailpit) -> AsyncIterator[TcpRelay]:
    async with tcp_relay(mailpit.smtp_host, mailpit.smtp_port) as relay:
        yield relay


@contextlib.asynccontextmanager
async def tcp_relay(host: str, port: int) -> AsyncIterator[TcpRelay]:
    relay = TcpRelay(host, port)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


async def attempts_of(
    app: FastAPI, token: str, event_id: uuid.UUID, channel: str = "email"
) -> list[tuple[str, str]]:
    """(provider, outcome) of each attempt of one event on one channel, in order (the
    admins' delivery log, read as an admin)."""
    async with asgi_client(app) as client:
        page = await client.get(
            "/api/notifications/deliveries",
            params={"channel": channel, "limit": 500},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert page.status_code == 200, page.text
    rows = [row for row in page.json()["items"] if row["event_id"] == str(event_id)]
    return [
        (row["provider"], row["outcome"])
        for row in sorted(rows, key=lambda r: (r["attempt"], r["at"]))
    ]


async def inbox_with(
    client: httpx.AsyncClient, user: User, count: int = 1
) -> list[dict[str, object]]:
    """The user's inbox once it holds at least `count` entries (bounded)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        page = await client.get(
            "/api/notifications", headers={"Authorization": f"Bearer {user.token}"}
        )
        items: list[dict[str, object]] = page.json()["items"]
        if len(items) >= count:
            return items
        assert time.monotonic() < deadline, f"{count} inbox entries never came"
        await asyncio.sleep(0.1)


def order_placed(
    user: User, total: str = "1234.50", currency: str = "EUR", quantity: int = 2
) -> OrderPlaced:
    """An OrderPlaced of the user's, one line, as the orders service publishes it."""
    return OrderPlaced(
        order_id=uuid.uuid4(),
        user_id=user.id,
        lines=[OrderLine(product_id=uuid.uuid4(), quantity=quantity)],
        total=Decimal(total),
        currency=currency,
    )


@asynccontextmanager
async def running(settings: NotificationsSettings, **overrides: Any) -> AsyncIterator[FastAPI]:
    """An app of the test's own on the module's keyspace, consuming nothing (the test
    calls its Notifier), with `overrides` on the module's settings."""
    app = create_app(settings.model_copy(update={"consume_orders": False, **overrides}))
    async with app.router.lifespan_context(app):
        await wait_ready(app)
        yield app


async def send_wishlist_notices(
    kafka: Kafka, topic: str, payloads: list[tuple[Any, uuid.UUID | None]]
) -> list[CloudEvent[Any]]:
    """Publish wishlist notices as the wishlist service's outbox does (key = user id); an
    event id may be given, to send the same notice twice."""
    return await publish(
        kafka, topic, WISHLIST_SOURCE, [(p, str(p.user_id), event_id) for p, event_id in payloads]
    )


async def send_stock_events(
    kafka: Kafka, topic: str, payloads: list[tuple[Any, uuid.UUID | None]]
) -> list[CloudEvent[Any]]:
    """Publish inventory's stock crossings as inventory does (key = product id); an event
    id may be given, to publish the same crossing twice."""
    return await publish(
        kafka,
        topic,
        INVENTORY_SOURCE,
        [(p, str(p.product_id), event_id) for p, event_id in payloads],
    )


async def send_review_outcomes(
    kafka: Kafka, topic: str, payloads: list[tuple[Any, uuid.UUID | None]]
) -> list[CloudEvent[Any]]:
    """Publish ReviewModerated as the reviews service does (key = product id)."""
    return await publish(
        kafka, topic, REVIEWS_SOURCE, [(p, str(p.product_id), event_id) for p, event_id in payloads]
    )


async def publish(
    kafka: Kafka, topic: str, source: str, events: list[tuple[Any, str, uuid.UUID | None]]
) -> list[CloudEvent[Any]]:
    """Each (payload, subject, id or None) as a CloudEvent on `topic`, in order."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    sent: list[CloudEvent[Any]] = []
    try:
        for payload, subject, event_id in events:
            event = new_event(payload, source=source, subject=subject, id=event_id)
            record = to_kafka_record(event)
            await producer.send_and_wait(
                topic, record.value, key=record.key, headers=record.headers
            )
            sent.append(event)
    finally:
        await producer.stop()
    return sent
