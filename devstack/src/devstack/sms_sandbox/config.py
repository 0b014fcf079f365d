"""The SMS stand-in's settings, from environment variables prefixed ``SMS_SANDBOX_``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIX = "SMS_SANDBOX_"


class ConfigError(ValueError):
    """A bad setting; the message names the bad variable."""


@dataclass(frozen=True)
class Config:
    # The bearer key every send must carry.
    api_key: str


def load(env: Mapping[str, str] | None = None) -> Config:
    """The settings; raises ConfigError naming what is wrong."""
    env = os.environ if env is None else env
    path = env.get(PREFIX + "API_KEY_FILE")
    if not path:
        raise ConfigError(f"{PREFIX}API_KEY_FILE: required (a file holding the API key)")
    try:
        key = Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{PREFIX}API_KEY_FILE: cannot read {path}: {exc.strerror}") from exc
    if len(key) < 16:
        raise ConfigError(f"{PREFIX}API_KEY_FILE: {path} holds no key of 16+ characters")
    return Config(api_key=key)
