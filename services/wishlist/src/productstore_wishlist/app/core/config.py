"""The wishlist service's settings: `ServiceSettings` plus its callees, events and limits.

Environment variables with the `WISHLIST_` prefix; the shared connection variables
(`CASSANDRA_CONTACT_POINTS`, `KAFKA_BOOTSTRAP_SERVERS`, ...) are read too (see
productstore_common.settings). The full table is in the README.
"""

from __future__ import annotations

from pydantic import AnyHttpUrl, Field
from pydantic_settings import SettingsConfigDict

from productstore_common.settings import ServiceSettings
from productstore_contracts.events.catalog import CATALOG_TOPIC
from productstore_contracts.events.inventory import INVENTORY_TOPIC
from productstore_contracts.events.wishlist import WISHLIST_TOPIC

_KAFKA_TOPIC = r"^[A-Za-z0-9._-]{1,200}$"


class WishlistSettings(ServiceSettings):
    """Settings of the wishlist service process."""

    model_config = SettingsConfigDict(env_prefix="WISHLIST_")

    service_name: str = Field(default="wishlist", pattern=r"^[a-z][a-z0-9-]{0,62}$")
    cassandra_keyspace: str = Field(default="wishlist", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,47}$")

    # Notices go here through the outbox; prices and stock are consumed.
    events_topic: str = Field(default=WISHLIST_TOPIC, pattern=_KAFKA_TOPIC)
    catalog_topic: str = Field(default=CATALOG_TOPIC, pattern=_KAFKA_TOPIC)
    inventory_topic: str = Field(default=INVENTORY_TOPIC, pattern=_KAFKA_TOPIC)
    consumer_group: str = Field(default="wishlist", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    # Off: the API only; no notice goes out (tools, the fan-out benchmark's own runs).
    consume_events: bool = True

    # The services it calls (in clusters, their Services' names; devstack's ports locally).
    catalog_url: AnyHttpUrl = AnyHttpUrl("http://catalog:8000")
    orders_url: AnyHttpUrl = AnyHttpUrl("http://orders:8000")
    # One call to catalog or orders gives up after this long.
    callee_timeout_seconds: float = Field(default=2.0, gt=0, le=60)

    # Lists per user and products per list.
    max_wishlists: int = Field(default=20, ge=1, le=1000)
    max_items: int = Field(default=100, ge=1, le=1000)

    # Fan-out: lists read and users claimed at once, notices per outbox batch.
    fanout_concurrency: int = Field(default=64, ge=1, le=1024)
    fanout_batch: int = Field(default=20, ge=1, le=40)
    # One event's fan-out may take this long before the consumer tries it again (a
    # retry skips the users already told).
    handler_timeout_seconds: float = Field(default=120.0, gt=0, le=600)

    # Back in stock: the next wave waits this long after the previous one (so those
    # told can buy), and due waves are looked for this often.
    restock_wave_interval_seconds: float = Field(default=900.0, ge=0.1, le=86_400)
    restock_tick_seconds: float = Field(default=30.0, ge=0.1, le=3600)
