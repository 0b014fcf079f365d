"""The sandbox's settings, from environment variables prefixed ``PAYMENTS_SANDBOX_``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "PAYMENTS_SANDBOX_"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class ConfigError(ValueError):
    """A bad setting; the message names every bad variable."""


@dataclass(frozen=True)
class Config:
    # Bearer key every /v1 request must carry; None accepts any caller (loopback only).
    api_key: str | None
    # HMAC-SHA256 key of the webhook signatures.
    webhook_secret: bytes
    # Endpoints that receive every event from the start (more can be registered).
    webhook_urls: tuple[str, ...] = ()
    webhook_max_attempts: int = 5
    # First retry after this many seconds, doubling, capped at webhook_backoff_cap.
    webhook_backoff_seconds: float = 0.5
    webhook_backoff_cap: float = 30.0
    webhook_timeout_seconds: float = 5.0
    # tok_slow answers after this long; tok_timeout holds its answer this long.
    slow_seconds: float = 2.0
    timeout_hold_seconds: float = 30.0


def webhook_url_error(url: str) -> str | None:
    """Why ``url`` cannot receive webhooks, or None: http(s) on loopback only, so the
    sandbox never sends anything off this machine."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL"
    if parts.hostname not in LOOPBACK_HOSTS:
        return f"{url!r} is not on loopback: the sandbox delivers to 127.0.0.1/localhost only"
    return None


def _read_secret_file(name: str, value: str, errors: list[str]) -> str | None:
    try:
        text = Path(value).read_text().strip()
    except OSError as exc:
        errors.append(f"{PREFIX}{name}: cannot read {value}: {exc.strerror}")
        return None
    if not text:
        errors.append(f"{PREFIX}{name}: {value} is empty")
        return None
    return text


def _number(env: Mapping[str, str], name: str, default: float, errors: list[str]) -> float:
    raw = env.get(PREFIX + name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        errors.append(f"{PREFIX}{name}: {raw!r} is not a number")
        return default
    if not 0 <= value < 3600:
        errors.append(f"{PREFIX}{name}: {raw} must be between 0 and 3600 seconds")
    return value


def load(env: Mapping[str, str] | None = None) -> Config:
    """The settings; raises ConfigError listing every bad variable at once."""
    env = os.environ if env is None else env
    errors: list[str] = []
    api_key = None
    if key_file := env.get(PREFIX + "API_KEY_FILE"):
        api_key = _read_secret_file("API_KEY_FILE", key_file, errors)
    secret = None
    if secret_file := env.get(PREFIX + "WEBHOOK_SECRET_FILE"):
        secret = _read_secret_file("WEBHOOK_SECRET_FILE", secret_file, errors)
    else:
        errors.append(f"{PREFIX}WEBHOOK_SECRET_FILE: required (a file holding the signing key)")
    urls = tuple(u.strip() for u in env.get(PREFIX + "WEBHOOK_URLS", "").split(",") if u.strip())
    errors += [f"{PREFIX}WEBHOOK_URLS: {e}" for u in urls if (e := webhook_url_error(u))]
    raw_attempts = env.get(PREFIX + "WEBHOOK_MAX_ATTEMPTS", "5")
    attempts = int(raw_attempts) if raw_attempts.isdigit() else 0
    if not 1 <= attempts <= 20:
        errors.append(f"{PREFIX}WEBHOOK_MAX_ATTEMPTS: {raw_attempts!r} must be 1..20")
    config = Config(
        api_key=api_key,
        webhook_secret=(secret or "").encode(),
        webhook_urls=urls,
        webhook_max_attempts=attempts,
        webhook_backoff_seconds=_number(env, "WEBHOOK_BACKOFF_SECONDS", 0.5, errors),
        webhook_backoff_cap=_number(env, "WEBHOOK_BACKOFF_CAP_SECONDS", 30.0, errors),
        webhook_timeout_seconds=_number(env, "WEBHOOK_TIMEOUT_SECONDS", 5.0, errors),
        slow_seconds=_number(env, "SLOW_SECONDS", 2.0, errors),
        timeout_hold_seconds=_number(env, "TIMEOUT_HOLD_SECONDS", 30.0, errors),
    )
    if errors:
        raise ConfigError("bad payment sandbox settings:\n  " + "\n  ".join(errors))
    return config
