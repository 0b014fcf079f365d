"""Settings that cannot work are refused at start with the variable and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from productstore_common.settings import SettingsError
from productstore_notifications.app.core.config import NotificationsSettings

BASE: dict[str, Any] = {"environment": "test"}

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
]


@pytest.mark.parametrize(
    ("values", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        NotificationsSettings(**{**BASE, **values})


def test_servers_in_failover_order() -> None:
    settings = NotificationsSettings(environment="test", smtp_servers="mail-1:25, mail-2:2525")
    assert settings.smtp_endpoints() == [("mail-1", 25), ("mail-2", 2525)]
    assert settings.worst_send_seconds() == 3 * (2 + 2 * 5) + 2 * 2
