"""The orders service's settings: `ServiceSettings` plus its callees, events and payments.

Environment variables with the `ORDERS_` prefix; the shared connection variables
(`CASSANDRA_CONTACT_POINTS`, `KAFKA_BOOTSTRAP_SERVERS`, ...) are read too (see
productstore_common.settings). The full table is in the README.
"""

from __future__ import annotations

from typing import Self

from pydantic import AnyHttpUrl, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from productstore_common.settings import ServiceSettings
from productstore_contracts.events.inventory import INVENTORY_TOPIC
from productstore_contracts.events.orders import ORDERS_TOPIC

_KAFKA_TOPIC = r"^[A-Za-z0-9._-]{1,200}$"


class OrdersSettings(ServiceSettings):
    """Settings of the orders service process."""

    model_config = SettingsConfigDict(env_prefix="ORDERS_")

    service_name: str = Field(default="orders", pattern=r"^[a-z][a-z0-9-]{0,62}$")
    cassandra_keyspace: str = Field(default="orders", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,47}$")

    # Order events go here through the outbox; inventory's outcomes are consumed.
    events_topic: str = Field(default=ORDERS_TOPIC, pattern=_KAFKA_TOPIC)
    inventory_topic: str = Field(default=INVENTORY_TOPIC, pattern=_KAFKA_TOPIC)
    consumer_group: str = Field(default="orders", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    # Off: the API only; no inventory event moves an order (tools).
    consume_inventory: bool = True
    # Inventory's answers for different orders handled at once (each order's in
    # order): every move is a compare-and-set on the order's status.
    consumer_key_concurrency: int = Field(default=32, ge=1, le=64)
    # False: inventory's answers reach the handler again on a redelivery instead of being dropped
    # by the consumer's claim and done-mark (two compare-and-sets per event): every
    # handled event is idempotent per order by itself (docs/adr/0035).
    consumer_dedupe: bool = False

    # The services it reads (in clusters, their Services' names; devstack's ports locally).
    catalog_url: AnyHttpUrl = AnyHttpUrl("http://catalog:8000")
    inventory_url: AnyHttpUrl = AnyHttpUrl("http://inventory:8000")
    # One call to catalog or inventory gives up after this long.
    callee_timeout_seconds: float = Field(default=2.0, gt=0, le=60)

    # The payment provider (devstack's sandbox locally).
    payments_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8170")
    # Required outside development (devstack passes the sandbox's key file).
    payments_api_key: SecretStr | None = None
    payments_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # Lines of one order and units of one line (inventory refuses more).
    max_lines: int = Field(default=100, ge=1, le=100)
    max_quantity: int = Field(default=1000, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.environment != "development" and self.payments_api_key is None:
            raise ValueError(
                "ORDERS_PAYMENTS_API_KEY is required outside development: the payment "
                "provider's API key (devstack: the payments component's api-key file)"
            )
        return self
