"""The stand-ins' settings, from environment variables prefixed ``CHAT_SANDBOX_``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIX = "CHAT_SANDBOX_"
# <team>/<channel>/<secret>, the part of a Slack webhook URL after /services/.
SLACK_PATH = re.compile(r"^[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+$")
# <bot id>:<secret>, as Telegram's BotFather issues them.
TELEGRAM_TOKEN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")


class ConfigError(ValueError):
    """A bad setting; the message names every bad variable."""


@dataclass(frozen=True)
class Config:
    # The webhook URL's path after /services/: its last segment is the secret.
    slack_webhook_path: str
    # The only bot token sendMessage accepts.
    telegram_bot_token: str


def _read(env: Mapping[str, str], name: str, pattern: re.Pattern[str], errors: list[str]) -> str:
    path = env.get(PREFIX + name)
    if not path:
        errors.append(f"{PREFIX}{name}: required (a file holding the value)")
        return ""
    try:
        value = Path(path).read_text().strip()
    except OSError as exc:
        errors.append(f"{PREFIX}{name}: cannot read {path}: {exc.strerror}")
        return ""
    if not pattern.fullmatch(value):
        errors.append(f"{PREFIX}{name}: {path} does not hold a value like {pattern.pattern}")
    return value


def load(env: Mapping[str, str] | None = None) -> Config:
    """The settings; raises ConfigError listing every bad variable at once."""
    env = os.environ if env is None else env
    errors: list[str] = []
    config = Config(
        slack_webhook_path=_read(env, "SLACK_WEBHOOK_PATH_FILE", SLACK_PATH, errors),
        telegram_bot_token=_read(env, "TELEGRAM_BOT_TOKEN_FILE", TELEGRAM_TOKEN, errors),
    )
    if errors:
        raise ConfigError("bad chat sandbox settings:\n  " + "\n  ".join(errors))
    return config
