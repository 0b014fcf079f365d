"""Slack and Telegram stand-ins (devstack.chat_sandbox) as a devstack component.

Alertmanager's receivers are third parties; on devstack one process of ours
stands in for both, on loopback only: a Slack incoming webhook and the
Telegram Bot API's sendMessage. The webhook URL's secret and the bot token are
generated once into the state directory (mode 0600) and kept across restarts,
where Alertmanager reads them as files (``api_url_file``, ``bot_token_file``),
the plain configuration's counterparts of the Secret a cluster's AlertmanagerConfig
names. Messages live in the
process's memory; tests read them from ``GET /messages``.

Options (context options or environment): ``chat.port`` /
``PRODUCTSTORE_CHAT_PORT`` moves it off 8171 (a test runs a private one).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from devstack.stand_in import HOST, StandIn

# 8170 is the payments sandbox; 8171 the chat stand-ins.
DEFAULT_PORT = 8171
# Telegram chat the sample store's alerts go to (manifests/samples/productstore-devstack.yaml).
SAMPLE_CHAT_ID = -1001


def new_slack_webhook_path() -> str:
    """``T…/B…/<secret>``, shaped like the path of a Slack webhook URL."""
    return (
        f"T{secrets.token_hex(4).upper()}/B{secrets.token_hex(4).upper()}/{secrets.token_hex(12)}"
    )


def new_telegram_bot_token() -> str:
    """``<bot id>:<secret>``, shaped like a BotFather token."""
    return f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(26)}"


class ChatSandbox(StandIn):
    """Slack incoming webhook and Telegram sendMessage stand-ins that record what they get."""

    name = "chat"
    description = f"Slack and Telegram stand-ins (alert receivers) on {HOST}:{DEFAULT_PORT}"
    default = True
    app_factory = "devstack.chat_sandbox.app:create_app"
    default_port = DEFAULT_PORT
    start_hint = f"read the log (`devstack logs chat`); check that port {DEFAULT_PORT} is free"

    @property
    def slack_path_file(self) -> Path:
        return self.state_dir / "slack-webhook-path"

    @property
    def slack_url_file(self) -> Path:
        """The whole webhook URL (Alertmanager's slack api_url_file)."""
        return self.state_dir / "slack-webhook-url"

    @property
    def telegram_token_file(self) -> Path:
        """The bot token (Alertmanager's telegram bot_token_file)."""
        return self.state_dir / "telegram-bot-token"

    # --- hooks -------------------------------------------------------------
    def prepare(self) -> None:
        super().prepare()
        self.keep_secret(self.slack_path_file, new_slack_webhook_path)
        self.keep_secret(self.telegram_token_file, new_telegram_bot_token)
        slack_path = self.slack_path_file.read_text().strip()
        # The URL follows the port (a private instance has another).
        self.write_generated(self.slack_url_file, f"{self.url}/services/{slack_path}\n")
        self.slack_url_file.chmod(0o600)

    def process_env(self) -> dict[str, str]:
        return {
            "CHAT_SANDBOX_SLACK_WEBHOOK_PATH_FILE": str(self.slack_path_file),
            "CHAT_SANDBOX_TELEGRAM_BOT_TOKEN_FILE": str(self.telegram_token_file),
        }

    def env(self) -> dict[str, str]:
        """Where the stand-ins are and the files holding their credentials (never the values)."""
        return {
            "CHAT_SANDBOX_URL": self.url,
            "TELEGRAM_API_URL": self.url,
            "TELEGRAM_BOT_TOKEN_FILE": str(self.telegram_token_file),
            "SLACK_WEBHOOK_URL_FILE": str(self.slack_url_file),
        }
