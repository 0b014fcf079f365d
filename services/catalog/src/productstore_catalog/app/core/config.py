"""The catalog service's settings: `ServiceSettings` plus cache, events and search.

Environment variables with the `CATALOG_` prefix (`CATALOG_CASSANDRA_KEYSPACE`,
`CATALOG_JWT_JWKS_URL`, ...); the shared connection variables
(`CASSANDRA_CONTACT_POINTS`, `REDIS_URL`, `KAFKA_BOOTSTRAP_SERVERS`, ...) are read
too (see productstore_common.settings). The full table is in the README.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from productstore_common.settings import ServiceSettings
from productstore_contracts.events.catalog import CATALOG_TOPIC
from productstore_contracts.events.inventory import INVENTORY_TOPIC
from productstore_contracts.events.reviews import REVIEWS_TOPIC

# One topic per domain (docs/architecture.md), keyed by product id.
DEFAULT_EVENTS_TOPIC = CATALOG_TOPIC
_KAFKA_TOPIC = r"^[A-Za-z0-9._-]{1,200}$"


class CatalogSettings(ServiceSettings):
    """Settings of the catalog service process."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_")

    service_name: str = Field(default="catalog", pattern=r"^[a-z][a-z0-9-]{0,62}$")
    cassandra_keyspace: str = Field(default="catalog", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,47}$")

    # Product reads by id are cached in Redis under `<prefix>:product:<id>`; the TTL
    # bounds how long a value may outlive a write whose cache update failed.
    redis_key_prefix: str = Field(default="catalog", pattern=r"^[A-Za-z0-9:_.-]{1,64}$")
    cache_ttl_seconds: int = Field(default=300, ge=1, le=86400)
    # How long a deleted product's tombstone keeps stale refills out of the cache.
    cache_tombstone_seconds: int = Field(default=60, ge=1, le=3600)

    # Product events go to this topic through the outbox; the relay runs in-process.
    events_topic: str = Field(default=DEFAULT_EVENTS_TOPIC, pattern=_KAFKA_TOPIC)

    # `in_stock` follows inventory's StockChanged events on this topic, consumed in one
    # group for the whole service (any replica applies an event; the others' indexes
    # follow through the product events that write publishes).
    inventory_topic: str = Field(default=INVENTORY_TOPIC, pattern=_KAFKA_TOPIC)
    stock_consumer_group: str = Field(default="catalog-stock", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    # Off: `in_stock` stays what admins set (tools, tests of other things).
    consume_stock: bool = True

    # `rating` follows the reviews service's ReviewPublished / ReviewRemoved on this
    # topic, in one group for the whole service (as the stock feed).
    reviews_topic: str = Field(default=REVIEWS_TOPIC, pattern=_KAFKA_TOPIC)
    ratings_consumer_group: str = Field(
        default="catalog-ratings", pattern=r"^[A-Za-z0-9._-]{1,100}$"
    )
    # Off: products keep the rating they have (tools, tests of other things).
    consume_ratings: bool = True

    # Each replica's search index follows the topic in its own consumer group
    # `<prefix>-<host>-<random>`, so every replica sees every event.
    search_consumer_group_prefix: str = Field(
        default="catalog-search", pattern=r"^[A-Za-z0-9._-]{1,100}$"
    )
    # How long start-up waits for that consumer to be positioned on the topic
    # before loading the index anyway (Kafka down must not keep reads down).
    search_consumer_start_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    search_default_limit: int = Field(default=20, ge=1, le=100)
    # Rendered search pages kept per replica (api/search_pages), in bytes; 0 is off.
    search_page_cache_bytes: int = Field(default=32 * 1024 * 1024, ge=0, le=1024 * 1024 * 1024)
    # Searches with words that found nothing are counted in memory and flushed to
    # Redis (`<redis_key_prefix>:search:no-results:<UTC day>`) this often; at most
    # `_buffer` distinct texts wait for a flush, each day keeps its `_kept` most
    # frequent and expires `_retention_days` after its last write
    # (services.no_results, data.no_results).
    search_no_results_flush_seconds: float = Field(default=5.0, gt=0, le=300)
    search_no_results_buffer: int = Field(default=1000, ge=1, le=100_000)
    search_no_results_kept: int = Field(default=1000, ge=10, le=100_000)
    search_no_results_retention_days: int = Field(default=8, ge=1, le=31)
    # How often the top ten are read back into catalog_search_no_results_top.
    search_no_results_top_refresh_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Signs search cursors; every replica needs the same key, or a cursor issued by
    # one replica is refused by the next. A random per-process key in development;
    # in clusters the operator generates it (Vault file search_cursor, {"key"}).
    search_cursor_key: SecretStr | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.environment != "development" and self.search_cursor_key is None:
            raise ValueError(
                "CATALOG_SEARCH_CURSOR_KEY is required outside development: replicas must "
                "share the key that signs search cursors (e.g. `openssl rand -base64 32`)"
            )
        return self
