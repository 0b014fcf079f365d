"""The notifications service's settings: `ServiceSettings` plus SMTP, auth and retries.

Environment variables with the `NOTIFICATIONS_` prefix; the shared connection variables
(`CASSANDRA_CONTACT_POINTS`, `KAFKA_BOOTSTRAP_SERVERS`, ...) are read too (see
productstore_common.settings). The full table is in the README.
"""

from __future__ import annotations

from typing import Self

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from productstore_common.settings import ServiceSettings
from productstore_contracts.events.orders import ORDERS_TOPIC
from productstore_contracts.events.wishlist import WISHLIST_TOPIC

_KAFKA_TOPIC = r"^[A-Za-z0-9._-]{1,200}$"
# The consumer gives one event's handling HANDLER_TIMEOUT_SECONDS; a cancelled handling
# leaves its claim, so the message is never sent. Every round must fit well inside.
HANDLER_TIMEOUT_SECONDS = 50.0
MAX_SEND_SECONDS = 45.0


class NotificationsSettings(ServiceSettings):
    """Settings of the notifications service process."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_")

    service_name: str = Field(default="notifications", pattern=r"^[a-z][a-z0-9-]{0,62}$")
    cassandra_keyspace: str = Field(
        default="notifications", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,47}$"
    )

    orders_topic: str = Field(default=ORDERS_TOPIC, pattern=_KAFKA_TOPIC)
    # The wishlist service's price-drop and back-in-stock notices (same consumer group).
    wishlist_topic: str = Field(default=WISHLIST_TOPIC, pattern=_KAFKA_TOPIC)
    consumer_group: str = Field(default="notifications", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    # Off: the API only; no order or wishlist event is turned into messages (tools).
    consume_orders: bool = True

    # The e-mail providers in failover order, comma-separated `host:port` SMTP servers
    # (devstack: Mailpit on 127.0.0.1:1025).
    smtp_servers: str = "127.0.0.1:1025"
    smtp_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    mail_from: str = Field(
        default="Product Store <no-reply@productstore.local>", min_length=3, max_length=200
    )

    # The auth service: each recipient's e-mail address, asked with a service token
    # (client credentials; ADR 0027). Without a secret no e-mail can be addressed: the
    # service starts (the inbox works), warns, and dead-letters e-mail with the reason.
    auth_url: AnyHttpUrl = AnyHttpUrl("http://auth:8000")
    auth_client_id: str = Field(default="notifications", min_length=1, max_length=100)
    auth_client_secret: SecretStr | None = None
    auth_timeout_seconds: float = Field(default=2.0, gt=0, le=60)

    # One message: this many rounds over the provider chain, with backoff between
    # rounds, then a dead-letter record.
    send_rounds: int = Field(default=3, ge=1, le=10)
    retry_initial_seconds: float = Field(default=0.2, gt=0, le=60)
    retry_max_seconds: float = Field(default=2.0, gt=0, le=300)
    # A provider's breaker opens after this many failures in a row and lets one trial
    # through after the reset time.
    breaker_failures: int = Field(default=3, ge=1, le=100)
    breaker_reset_seconds: float = Field(default=30.0, gt=0, le=3600)

    # Namespaces this service's Redis keys (the broadcasts' rate limit per admin).
    redis_key_prefix: str = Field(default="notifications", pattern=r"^[A-Za-z0-9:_.-]{1,64}$")
    # Where users reach the gateway: the base of the unsubscribe links in e-mail.
    public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8080")
    # Signs the one-click unsubscribe links (HMAC-SHA256); every replica needs the same
    # key. A random per-process key in development; in clusters the operator generates
    # it (Vault file `unsubscribe`, {"key"}).
    unsubscribe_key: SecretStr | None = None
    # How long an unsubscribe link works after its e-mail was sent.
    unsubscribe_link_days: int = Field(default=90, ge=1, le=3650)

    # Broadcasts: recipients read (and the cursor saved) per page, messages per second
    # (one replica sends a broadcast, so this is the broadcast's rate), how long a
    # sender's lease lasts without renewal, and how often replicas look for a
    # broadcast whose sender died.
    # Broadcasts each admin may start per hour (refused requests do not count).
    broadcasts_per_hour: int = Field(default=6, ge=1, le=1000)
    broadcast_page_size: int = Field(default=100, ge=1, le=1000)
    broadcast_messages_per_second: float = Field(default=20.0, gt=0, le=1000)
    broadcast_lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    broadcast_tick_seconds: float = Field(default=15.0, gt=0, le=3600)

    @field_validator("smtp_servers")
    @classmethod
    def _servers(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(
                    f"{server.strip()!r} is not host:port; give the SMTP servers in "
                    "failover order, e.g. mail-1:25,mail-2:25"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.environment != "development" and self.unsubscribe_key is None:
            raise ValueError(
                "NOTIFICATIONS_UNSUBSCRIBE_KEY is required outside development: replicas "
                "must share the key that signs unsubscribe links (e.g. `openssl rand "
                "-base64 32`)"
            )
        page_seconds = self.broadcast_page_size / self.broadcast_messages_per_second
        if page_seconds >= self.broadcast_lease_seconds:
            # Another replica would take the broadcast over mid-page (the claims keep
            # that from sending twice, but two senders would share the rate).
            raise ValueError(
                f"a broadcast page takes {page_seconds:.0f}s at the configured rate, not less "
                "than BROADCAST_LEASE_SECONDS (the lease is renewed once per page): lower "
                "the page size or raise the lease"
            )
        if self.worst_send_seconds() > MAX_SEND_SECONDS:
            raise ValueError(
                f"one e-mail could take {self.worst_send_seconds():.0f}s over its rounds "
                f"(SEND_ROUNDS x (AUTH_TIMEOUT + servers x SMTP_TIMEOUT) + backoff), more "
                f"than the {MAX_SEND_SECONDS:.0f}s an event's handling may take: lower the "
                "rounds or the timeouts"
            )
        return self

    def worst_send_seconds(self) -> float:
        """The longest one e-mail's rounds may take when every server hangs to its timeout."""
        per_round = (
            self.auth_timeout_seconds + len(self.smtp_endpoints()) * self.smtp_timeout_seconds
        )
        return self.send_rounds * per_round + (self.send_rounds - 1) * self.retry_max_seconds

    def smtp_endpoints(self) -> list[tuple[str, int]]:
        """The SMTP servers in failover order."""
        found = []
        for server in self.smtp_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            found.append((host, int(port)))
        return found
