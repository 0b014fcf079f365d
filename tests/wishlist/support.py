"""What the wishlist tests share: settings on devstack, users of their own, the notice log.

A module gets keyspaces and topics of its own, and real neighbours served over HTTP
on loopback: a catalog (products to list, PriceChanged on the module's catalog topic),
an inventory (BackInStock and StockChanged on its topic) and an orders service (the
cart that to-cart fills), as in tests/orders.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from productstore_common.events import CloudEvent
from productstore_contracts.events.wishlist import WISHLIST_EVENTS
from productstore_wishlist.app.core.config import WishlistSettings
from tests.auth.support import PASSWORD, unique_email
from tests.orders.support import Backing as OrdersBacking
from tests.support.event_log import TopicLog

DEADLINE_SECONDS = 60.0


@dataclass(frozen=True)
class Backing:
    """The module's wishlist keyspace and topic, beside its neighbours' (orders' layout)."""

    keyspace: str
    events_topic: str
    neighbours: OrdersBacking


@dataclass(frozen=True)
class Neighbours:
    catalog_url: str
    inventory_url: str
    orders_url: str


def wishlist_settings(
    cassandra: Cassandra,
    kafka: Kafka,
    backing: Backing,
    neighbours: Neighbours,
    jwks_url: str,
    **overrides: Any,
) -> WishlistSettings:
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
        "events_topic": backing.events_topic,
        "catalog_topic": backing.neighbours.catalog_topic,
        "inventory_topic": backing.neighbours.inventory_topic,
        "consumer_group": f"wishlist-test-{uuid.uuid4().hex[:12]}",
        "create_topics": False,
        "jwt_jwks_url": jwks_url,
        "catalog_url": neighbours.catalog_url,
        "orders_url": neighbours.orders_url,
        "max_wishlists": 3,
        "max_items": 4,
        # Waves a second apart, looked for twice a second: a return takes seconds.
        "restock_wave_interval_seconds": 1.0,
        "restock_tick_seconds": 0.5,
    }
    values.update(overrides)
    return WishlistSettings(**values)


def new_user(auth_url: str) -> tuple[str, uuid.UUID]:
    """A freshly registered user's access token and id."""
    with httpx.Client(base_url=auth_url, timeout=30) as http:
        email = unique_email("wisher")
        made = http.post(
            "/api/auth/register", json={"email": email, "name": "Wisher", "password": PASSWORD}
        ).raise_for_status()
        login = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        token: str = login.raise_for_status().json()["access_token"]
        return token, uuid.UUID(made.json()["id"])


class NoticeLog(TopicLog):
    """Every notice of the module's topic, read from its start."""

    def __init__(self, kafka: Kafka, topic: str) -> None:
        super().__init__(kafka, topic, WISHLIST_EVENTS, name="wishlist")

    def about(self, product_id: uuid.UUID) -> list[CloudEvent[Any]]:
        return [e for e in self.events if e.data.product_id == product_id]
