"""Slack and Telegram stand-ins (devstack.chat_sandbox) as a devstack component.

Alertmanager's receivers are third parties; on devstack one process of ours
stands in for both, on loopback only: a Slack incoming webhook and the
Telegram Bot API's sendMessage. The webhook URL's secret and the bot token are
generated once into the state directory (mode 0600) and kept across restarts,
where Alertmanager reads them as files (``api_url_file``, ``bot_token_file``),
as it would read files Vault Agent renders in a cluster. Messages live in the
process's memory; tests read them from ``GET /messages``.

Options (context options or environment): ``chat.port`` /
``PRODUCTSTORE_CHAT_PORT`` moves it off 8171 (a test runs a private one).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import sys
from pathlib import Path

import httpx

from devstack.component import Component
from devstack.errors import DevstackError
from devstack.process import Endpoint, ProcessSpec

HOST = "127.0.0.1"
# 8170 is the payments sandbox; 8171 the chat stand-ins.
DEFAULT_PORT = 8171
APP_FACTORY = "devstack.chat_sandbox.app:create_app"
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


class ChatSandbox(Component):
    """Slack incoming webhook and Telegram sendMessage stand-ins that record what they get."""

    name = "chat"
    description = f"Slack and Telegram stand-ins (alert receivers) on {HOST}:{DEFAULT_PORT}"
    default = True
    ready_timeout = 30.0
    start_hint = f"read the log (`devstack logs chat`); check that port {DEFAULT_PORT} is free"

    @property
    def port(self) -> int:
        raw = self.ctx.options.get("chat.port") or os.environ.get("PRODUCTSTORE_CHAT_PORT")
        return int(raw) if raw else DEFAULT_PORT

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

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
    def provision(self) -> bool:
        for module in ("fastapi", "uvicorn"):
            if importlib.util.find_spec(module) is None:
                raise DevstackError(
                    self.name,
                    f"{module} is not importable from {sys.executable}",
                    hint="run `make setup` (the workspace installs devstack's dependencies)",
                )
        return False

    def endpoints(self) -> dict[str, Endpoint]:
        return {"http": Endpoint(HOST, self.port)}

    def prepare(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.state_dir.chmod(0o700)
        for path, make in (
            (self.slack_path_file, new_slack_webhook_path),
            (self.telegram_token_file, new_telegram_bot_token),
        ):
            if not path.exists():
                self.write_generated(path, make() + "\n")
            path.chmod(0o600)
        slack_path = self.slack_path_file.read_text().strip()
        # The URL follows the port (a private instance has another).
        self.write_generated(self.slack_url_file, f"{self.url}/services/{slack_path}\n")
        self.slack_url_file.chmod(0o600)

    def processes(self) -> list[ProcessSpec]:
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            APP_FACTORY,
            "--factory",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--no-proxy-headers",
        ]
        return [
            ProcessSpec(
                name=self.name,
                argv=argv,
                env={
                    "CHAT_SANDBOX_SLACK_WEBHOOK_PATH_FILE": str(self.slack_path_file),
                    "CHAT_SANDBOX_TELEGRAM_BOT_TOKEN_FILE": str(self.telegram_token_file),
                },
                cwd=self.state_dir,
            )
        ]

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/healthz", timeout=2.0).status_code == 200

    def env(self) -> dict[str, str]:
        """Where the stand-ins are and the files holding their credentials (never the values)."""
        return {
            "CHAT_SANDBOX_URL": self.url,
            "TELEGRAM_API_URL": self.url,
            "TELEGRAM_BOT_TOKEN_FILE": str(self.telegram_token_file),
            "SLACK_WEBHOOK_URL_FILE": str(self.slack_url_file),
        }
