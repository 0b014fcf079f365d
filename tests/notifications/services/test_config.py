"""Settings that cannot work are refused at start with the variable and the fix."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from productstore_common.settings import SettingsError
from productstore_notifications.app.core.config import NotificationsSettings

BASE: dict[str, Any] = {"environment": "test", "unsubscribe_key": "a-real-key-0123456789abcdef"}

REFUSED: list[tuple[str, dict[str, Any], str]] = [
    (
        "server without a port",
        {"smtp_servers": "mail.example.com"},
        "mail.example.com' is not host:port",
    ),
    ("port out of range", {"smtp_servers": "a:25,b:70000"}, "'b:70000' is not host:port"),
    (
        "rounds that outlast the handler",
        {"smtp_servers": "a:25,b:25,c:25", "smtp_timeout_seconds": 30},
        "lower the rounds or the timeouts",
    ),
    ("SMS provider not a URL", {"sms_providers": "sms.example.com"}, "is not an http"),
    (
        "SMS rounds that outlast the handler",
        {"sms_providers": "http://a/x,http://b/x,http://c/x", "sms_timeout_seconds": 10},
        "one SMS message could take",
    ),
    ("VAPID key not base64url", {"vapid_private_key": "not*base64"}, "not base64url"),
    ("VAPID key of 16 octets", {"vapid_private_key": "A" * 22}, "16 octets, not 32"),
    (
        "no unsubscribe key outside development",
        {"unsubscribe_key": None},
        "NOTIFICATIONS_UNSUBSCRIBE_KEY is required outside development",
    ),
    ("a placeholder unsubscribe key", {"unsubscribe_key": "changethis"}, "placeholder"),
    (
        "a Slack webhook that is not a URL",
        {"chat_slack_webhook_url": "hooks.slack.com/services/T1/B2/secret"},
        "the Slack webhook URL is not an http",
    ),
    (
        "a Telegram token not from BotFather",
        {"chat_telegram_bot_token": "bot-123-abc", "chat_telegram_chat_id": -100},
        "not <bot id>:<secret>",
    ),
    (
        "a Telegram bot without a chat",
        {"chat_telegram_bot_token": "123:abc"},
        "needs both CHAT_TELEGRAM_BOT_TOKEN and CHAT_TELEGRAM_CHAT_ID",
    ),
    (
        "a Telegram chat without a bot",
        {"chat_telegram_chat_id": -100},
        "needs both CHAT_TELEGRAM_BOT_TOKEN and CHAT_TELEGRAM_CHAT_ID",
    ),
    (
        "chat rounds that outlast the handler",
        {
            "chat_slack_webhook_url": "https://hooks.example/services/T/B/x",
            "chat_telegram_bot_token": "123:abc",
            "chat_telegram_chat_id": -100,
            "chat_timeout_seconds": 10,
        },
        "one chat message could take",
    ),
    (
        "a broadcast page longer than the lease",
        {"broadcast_page_size": 1000, "broadcast_messages_per_second": 10},
        "raise the lease",
    ),
]


@pytest.mark.parametrize(
    ("values", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        NotificationsSettings(**{**BASE, **values})


def test_servers_in_failover_order() -> None:
    settings = NotificationsSettings(**BASE, smtp_servers="mail-1:25, mail-2:2525")
    assert settings.smtp_endpoints() == [("mail-1", 25), ("mail-2", 2525)]
    assert settings.worst_send_seconds() == 3 * (2 + 2 * 5) + 2 * 2


def test_sms_providers_in_failover_order_and_push_hosts() -> None:
    settings = NotificationsSettings(
        **BASE,
        sms_providers="https://sms-1.example/acme, https://sms-2.example/acme",
        push_endpoint_hosts="127.0.0.1:8173, .Push.Apple.com",
    )
    assert settings.sms_urls() == ["https://sms-1.example/acme", "https://sms-2.example/acme"]
    assert settings.worst_sms_seconds() == 3 * (2 * 5) + 2 * 2
    assert settings.push_hosts() == ["127.0.0.1:8173", ".push.apple.com"]


def test_development_needs_no_unsubscribe_key() -> None:
    assert NotificationsSettings(environment="development").unsubscribe_key is None


def test_admin_chats_in_failover_order() -> None:
    none = NotificationsSettings(**BASE)
    assert none.chat_count() == 0
    both = NotificationsSettings(
        **BASE,
        chat_slack_webhook_url=SecretStr("https://hooks.example/services/T/B/x"),
        chat_telegram_bot_token=SecretStr("123:abc"),
        chat_telegram_chat_id=-1002,
    )
    assert both.chat_count() == 2
    # The catalog's name first, then the rounds over both chats.
    assert both.worst_chat_seconds() == 2 + 3 * (2 * 5) + 2 * 2
