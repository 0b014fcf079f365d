"""The sandbox's settings: a bad one stops the start with every bad variable named."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.payments_sandbox.config import ConfigError, load


@pytest.fixture
def secret(tmp_path: Path) -> str:
    path = tmp_path / "secret"
    path.write_text("whsec_abc\n")
    return str(path)


def test_good_settings(secret: str, tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("sk_test_1\n")
    config = load(
        {
            "PAYMENTS_SANDBOX_WEBHOOK_SECRET_FILE": secret,
            "PAYMENTS_SANDBOX_API_KEY_FILE": str(key),
            "PAYMENTS_SANDBOX_WEBHOOK_URLS": "http://127.0.0.1:9/a, http://localhost:9/b",
            "PAYMENTS_SANDBOX_SLOW_SECONDS": "0.5",
        }
    )
    assert (config.api_key, config.webhook_secret) == ("sk_test_1", b"whsec_abc")
    assert config.webhook_urls == ("http://127.0.0.1:9/a", "http://localhost:9/b")
    assert config.slow_seconds == 0.5


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PAYMENTS_SANDBOX_WEBHOOK_SECRET_FILE": None}, "WEBHOOK_SECRET_FILE: required"),
        ({"PAYMENTS_SANDBOX_WEBHOOK_SECRET_FILE": "/nonexistent"}, "cannot read /nonexistent"),
        ({"PAYMENTS_SANDBOX_API_KEY_FILE": "/nonexistent"}, "API_KEY_FILE: cannot read"),
        ({"PAYMENTS_SANDBOX_WEBHOOK_URLS": "https://example.com/x"}, "not on loopback"),
        ({"PAYMENTS_SANDBOX_WEBHOOK_MAX_ATTEMPTS": "0"}, "WEBHOOK_MAX_ATTEMPTS: '0' must be 1..20"),
        ({"PAYMENTS_SANDBOX_WEBHOOK_MAX_ATTEMPTS": "many"}, "WEBHOOK_MAX_ATTEMPTS"),
        ({"PAYMENTS_SANDBOX_SLOW_SECONDS": "soon"}, "SLOW_SECONDS: 'soon' is not a number"),
        ({"PAYMENTS_SANDBOX_TIMEOUT_HOLD_SECONDS": "-1"}, "between 0 and 3600"),
    ],
)
def test_bad_settings_are_named(secret: str, env: dict[str, str | None], named: str) -> None:
    merged = {"PAYMENTS_SANDBOX_WEBHOOK_SECRET_FILE": secret, **env}
    with pytest.raises(ConfigError, match=named):
        load({k: v for k, v in merged.items() if v is not None})


def test_every_bad_setting_at_once(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigError) as bad:
        load(
            {
                "PAYMENTS_SANDBOX_WEBHOOK_SECRET_FILE": str(empty),
                "PAYMENTS_SANDBOX_SLOW_SECONDS": "x",
            }
        )
    assert "is empty" in str(bad.value)
    assert "SLOW_SECONDS" in str(bad.value)
