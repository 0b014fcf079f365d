"""The notifications service's settings: `ServiceSettings` plus SMTP, SMS, Web Push, the
admins' chats, auth, the catalog, retries, unsubscribe links and broadcasts.

Environment variables with the `NOTIFICATIONS_` prefix; the shared connection variables
(`CASSANDRA_CONTACT_POINTS`, `KAFKA_BOOTSTRAP_SERVERS`, ...) are read too (see
productstore_common.settings). The full table is in the README.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from productstore_common.settings import FILE_FIELDS, ServiceSettings
from productstore_contracts.events.inventory import INVENTORY_TOPIC
from productstore_contracts.events.orders import ORDERS_TOPIC
from productstore_contracts.events.reviews import REVIEWS_TOPIC
from productstore_contracts.events.wishlist import WISHLIST_TOPIC

_KAFKA_TOPIC = r"^[A-Za-z0-9._-]{1,200}$"
# The consumer gives one event's handling HANDLER_TIMEOUT_SECONDS; a cancelled handling
# leaves its claim, so the message is never sent. Every round must fit well inside.
HANDLER_TIMEOUT_SECONDS = 50.0
MAX_SEND_SECONDS = 45.0


class NotificationsSettings(ServiceSettings):
    """Settings of the notifications service process."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_")
    # Third parties' settings that travel with their credential (ADR 0039): the Vault
    # entry notifications/provided/sms holds the providers and the key, .../telegram
    # the bot's token and the chat; the agent renders each to one file.
    file_fields: ClassVar[frozenset[str]] = FILE_FIELDS | {
        "sms_providers",
        "chat_telegram_chat_id",
    }

    service_name: str = Field(default="notifications", pattern=r"^[a-z][a-z0-9-]{0,62}$")
    cassandra_keyspace: str = Field(
        default="notifications", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,47}$"
    )

    orders_topic: str = Field(default=ORDERS_TOPIC, pattern=_KAFKA_TOPIC)
    # The wishlist service's price-drop and back-in-stock notices (same consumer group).
    wishlist_topic: str = Field(default=WISHLIST_TOPIC, pattern=_KAFKA_TOPIC)
    # Inventory's LowStock and BackInStock: messages to the admins' chats (same group).
    inventory_topic: str = Field(default=INVENTORY_TOPIC, pattern=_KAFKA_TOPIC)
    # The reviews' ReviewModerated: moderation outcomes to the review's author.
    reviews_topic: str = Field(default=REVIEWS_TOPIC, pattern=_KAFKA_TOPIC)
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

    # SMS delivery updates (ADR 0028): SMS APIs' base URLs in failover order (devstack:
    # the SMS stand-in's accounts); empty: no SMS. The key is sent as a bearer token;
    # without one SMS is off too. In clusters both come from the Vault entry an
    # administrator writes (file `sms`, {"providers", "api_key"}, ADR 0039).
    sms_providers: str = ""
    sms_api_key: SecretStr | None = None
    sms_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Phone verification: a one-time code by SMS before any update goes to the phone.
    # How long a code works, wrong guesses before it is void, codes per user (and per
    # phone) an hour.
    phone_code_seconds: int = Field(default=600, ge=1, le=3600)
    phone_code_attempts: int = Field(default=5, ge=1, le=20)
    phone_codes_per_hour: int = Field(default=5, ge=1, le=100)

    # Web Push: the application server's VAPID private key (32 octets, base64url); unset:
    # no push (device registration answers 503). The subject is the contact push
    # services may write to.
    vapid_private_key: SecretStr | None = None
    vapid_subject: str = Field(
        default="mailto:ops@productstore.local", pattern=r"^(mailto:|https://)\S+$"
    )
    push_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # The push services subscriptions may point at (host, host:port, or .suffix): the
    # service POSTs to a user-given URL, so only to these. Browsers' push services by
    # default; devstack adds its stand-in.
    push_endpoint_hosts: str = (
        "fcm.googleapis.com,updates.push.services.mozilla.com,.push.apple.com,.notify.windows.com"
    )
    max_devices: int = Field(default=10, ge=1, le=100)

    # The admins' chats for stock crossings, in failover order: a Slack incoming webhook
    # (its URL is the credential), then a Telegram bot (token and chat). Neither: no
    # admin messages. Third parties' credentials, like the SMS key: in clusters the
    # files `chat_slack` ({"webhook_url"}) and `chat_telegram` ({"bot_token",
    # "chat_id"}) of the entries an administrator writes (ADR 0039).
    chat_slack_webhook_url: SecretStr | None = None
    chat_telegram_bot_token: SecretStr | None = None
    chat_telegram_chat_id: int | None = None
    telegram_api_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    chat_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # The language of the admins' messages.
    admin_locale: Literal["en", "ru"] = "en"
    # The catalog: product names in wishlist notices and admin messages (a message
    # whose name cannot be read shows the product's short reference instead).
    catalog_url: AnyHttpUrl = AnyHttpUrl("http://catalog:8000")
    catalog_timeout_seconds: float = Field(default=2.0, gt=0, le=60)

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

    @field_validator(
        "sms_api_key",
        "chat_slack_webhook_url",
        "chat_telegram_bot_token",
        "chat_telegram_chat_id",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # A third party's credential an administrator has not provided yet: the agent
        # renders an empty file, or an entry may hold an empty field. Either way that
        # channel is not configured (the service starts, the channel is off), which is
        # not the same as a placeholder (still refused outside development).
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and not text.strip():
            return None
        return value

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

    @field_validator("sms_providers")
    @classmethod
    def _sms_urls(cls, value: str) -> str:
        for url in (u.strip() for u in value.split(",") if u.strip()):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    f"{url!r} is not an http(s) URL; give the SMS APIs' base URLs in failover "
                    "order, e.g. https://sms-1.example/acme,https://sms-2.example/acme"
                )
        return value

    @field_validator("chat_slack_webhook_url")
    @classmethod
    def _slack_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value().strip())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                # The URL is the secret: say what is wrong, not what it is.
                raise ValueError(
                    "the Slack webhook URL is not an http(s) URL (Slack gives "
                    "https://hooks.slack.com/services/T.../B.../...)"
                )
        return value

    @field_validator("chat_telegram_bot_token")
    @classmethod
    def _telegram_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[0-9]+:[A-Za-z0-9_-]+", value.get_secret_value().strip()
        ):
            raise ValueError(
                "the Telegram bot token is not <bot id>:<secret>, as BotFather gives it"
            )
        return value

    @field_validator("vapid_private_key")
    @classmethod
    def _vapid_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            text = value.get_secret_value().strip()
            try:
                raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            except (ValueError, binascii.Error):
                raise ValueError("the VAPID private key is not base64url") from None
            if len(raw) != 32:
                raise ValueError(
                    f"the VAPID private key is {len(raw)} octets, not 32 (a P-256 private "
                    "key, base64url, as `web-push generate-vapid-keys` prints it)"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.chat_telegram_bot_token is None) != (self.chat_telegram_chat_id is None):
            raise ValueError(
                "the Telegram bot needs both CHAT_TELEGRAM_BOT_TOKEN and CHAT_TELEGRAM_CHAT_ID "
                "(the admins' chat, e.g. -1001234567890), or neither"
            )
        for channel, worst in (
            ("SMS", self.worst_sms_seconds()),
            ("push", self.worst_push_seconds()),
            ("chat", self.worst_chat_seconds()),
        ):
            if worst > MAX_SEND_SECONDS:
                raise ValueError(
                    f"one {channel} message could take {worst:.0f}s over its rounds, more than "
                    f"the {MAX_SEND_SECONDS:.0f}s an event's handling may take: lower "
                    "SEND_ROUNDS or the channel's timeout"
                )
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

    def worst_sms_seconds(self) -> float:
        """SMS runs beside e-mail: its own rounds over its own providers."""
        per_round = len(self.sms_urls()) * self.sms_timeout_seconds
        return self.send_rounds * per_round + (self.send_rounds - 1) * self.retry_max_seconds

    def worst_chat_seconds(self) -> float:
        """The admins' chats: the name from the catalog, then rounds over the chats."""
        per_round = self.chat_count() * self.chat_timeout_seconds
        return (
            self.catalog_timeout_seconds
            + self.send_rounds * per_round
            + (self.send_rounds - 1) * self.retry_max_seconds
        )

    def chat_count(self) -> int:
        """How many admin chats are configured (0 to 2)."""
        return (self.chat_slack_webhook_url is not None) + (
            self.chat_telegram_bot_token is not None
        )

    def worst_push_seconds(self) -> float:
        """A user's subscriptions are pushed to concurrently: one timeout a round."""
        return (
            self.send_rounds * self.push_timeout_seconds
            + (self.send_rounds - 1) * self.retry_max_seconds
        )

    def sms_urls(self) -> list[str]:
        """The SMS providers' base URLs in failover order."""
        return [u.strip() for u in self.sms_providers.split(",") if u.strip()]

    def push_hosts(self) -> list[str]:
        return [h.strip().lower() for h in self.push_endpoint_hosts.split(",") if h.strip()]

    def smtp_endpoints(self) -> list[tuple[str, int]]:
        """The SMTP servers in failover order."""
        found = []
        for server in self.smtp_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            found.append((host, int(port)))
        return found
