"""The inventory service's settings: `ServiceSettings` plus holds, events and the sweeper.

Environment variables with the `INVENTORY_` prefix; the shared connection variables
(`CASSANDRA_CONTACT_POINTS`, `KAFKA_BOOTSTRAP_SERVERS`, ...) are read too (see
productstore_common.settings). The full table is in the README.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from productstore_common.settings import ServiceSettings
from productstore_contracts.events.inventory import INVENTORY_TOPIC
from productstore_contracts.events.orders import ORDERS_TOPIC

_KAFKA_TOPIC = r"^[A-Za-z0-9._-]{1,200}$"
LOCATION_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class InventorySettings(ServiceSettings):
    """Settings of the inventory service process."""

    model_config = SettingsConfigDict(env_prefix="INVENTORY_")

    service_name: str = Field(default="inventory", pattern=r"^[a-z][a-z0-9-]{0,62}$")
    cassandra_keyspace: str = Field(default="inventory", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,47}$")

    # Stock events go here through the outbox; order events are consumed from orders_topic.
    events_topic: str = Field(default=INVENTORY_TOPIC, pattern=_KAFKA_TOPIC)
    orders_topic: str = Field(default=ORDERS_TOPIC, pattern=_KAFKA_TOPIC)
    consumer_group: str = Field(default="inventory", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    # Off: the service answers its API but no order event moves a hold (tests, tools).
    consume_orders: bool = True
    # Order events of different orders handled at once (each order's in order):
    # holds are lightweight transactions per (product, location), safe under it.
    consumer_key_concurrency: int = Field(default=32, ge=1, le=64)
    # False: order events reach the handler again on a redelivery instead of being dropped
    # by the consumer's claim and done-mark (two compare-and-sets per event): every
    # handled event is idempotent per order by itself (docs/adr/0035).
    consumer_dedupe: bool = False

    # Where `{"on_hand": n}` without locations puts the stock.
    default_location: str = Field(default="default", pattern=LOCATION_PATTERN)
    # How long a reservation holds stock before the order must be paid.
    hold_seconds: float = Field(default=900.0, gt=0, le=7 * 24 * 3600)
    # The sweeper releases expired holds every interval, looking this far back.
    sweep_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    sweep_lookback_seconds: int = Field(default=6 * 3600, ge=60, le=2 * 24 * 3600)
    # How often the low-stock backlog gauges re-read the low-stock list.
    low_stock_watch_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Released and sold hold rows stay this long, so a late retry of the same order
    # still finds its hold and does nothing (as long as the consumer's dedupe window).
    resolved_hold_ttl_seconds: int = Field(default=8 * 24 * 3600, ge=60)
    # A CAS that keeps losing to other writers gives up after this long (409 / retry).
    cas_deadline_seconds: float = Field(default=20.0, gt=0, le=300)

    # Reorder suggestions (docs/adr: reorder suggestions); a product's PUT may
    # override the first three. Days from order to arrival:
    reorder_lead_time_days: float = Field(default=7.0, gt=0, le=365)
    # Days until stock is looked at again: an order must last until then too.
    reorder_review_period_days: float = Field(default=7.0, ge=0, le=365)
    # Chance of not running out during a lead time (sets z of the safety stock).
    reorder_service_level: float = Field(default=0.95, ge=0.5, le=0.9999)
    # Days of sales history the forecast reads (from the first sale in it).
    forecast_history_days: int = Field(default=90, ge=7, le=365)
    # Smoothing weights: alpha for the daily quantity (SES) and TSB's sale size,
    # beta for TSB's chance of a sale on a day.
    forecast_alpha: float = Field(default=0.2, gt=0, le=1)
    forecast_beta: float = Field(default=0.1, gt=0, le=1)

    # The admins' Server-Sent Events stream of stock changes (per replica).
    stream_max_connections: int = Field(default=100, ge=1, le=10_000)
    # Events a connection may have waiting; a client that falls further behind is
    # disconnected (it reconnects with Last-Event-ID).
    stream_queue_size: int = Field(default=256, ge=1, le=100_000)
    # Recent events kept to resume a reconnecting client from its Last-Event-ID.
    stream_replay_size: int = Field(default=1000, ge=0, le=100_000)
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    # A stream ends after this long (the client reconnects and resumes), so no
    # connection holds a replica's shutdown for longer.
    stream_max_seconds: float = Field(default=300.0, gt=0, le=24 * 3600)
