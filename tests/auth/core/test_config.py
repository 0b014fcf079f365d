"""The auth service's settings refuse what would fail or be unsafe later."""

from __future__ import annotations

import json
from typing import Any

import pytest

from productstore_auth.app.core.config import AuthSettings
from productstore_common.settings import SettingsError

VAULT = {"vault_addr": "http://127.0.0.1:8200", "vault_token": "s.realtokenvalue"}


def _settings(**values: Any) -> AuthSettings:
    return AuthSettings(**values)


def _problems(**values: Any) -> str:
    with pytest.raises(SettingsError) as caught:
        _settings(**values)
    return str(caught.value)


def test_variables_have_the_auth_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_ENVIRONMENT", "development")
    monkeypatch.setenv("AUTH_ACCESS_TOKEN_LIFETIME_SECONDS", "600")
    settings = AuthSettings()
    assert settings.service_name == "auth"
    assert settings.cassandra_keyspace == "auth"
    assert settings.access_token_lifetime_seconds == 600
    assert settings.migrates_on_start is True


def test_outside_development_vault_is_required() -> None:
    message = _problems(environment="production")
    assert "AUTH_VAULT_ADDR is required outside development" in message
    settings = _settings(environment="production", **VAULT)
    assert settings.migrates_on_start is False
    # The chart tells production pods to migrate (AUTH_MIGRATE_ON_START=true).
    told = _settings(environment="production", migrate_on_start="true", **VAULT)
    assert told.migrates_on_start is True


def test_vault_needs_a_token_or_a_role() -> None:
    message = _problems(environment="production", vault_addr="http://127.0.0.1:8200")
    assert "AUTH_VAULT_TOKEN or AUTH_VAULT_ROLE" in message
    _settings(environment="production", vault_addr="http://vault:8200", vault_role="auth")


def test_service_clients_are_checked_without_echoing_secrets() -> None:
    clients = {"orders": {"secret": "hunter2-but-short"[:10], "audiences": ["inventory"]}}
    message = _problems(environment="production", service_clients=json.dumps(clients), **VAULT)
    assert "AUTH_SERVICE_CLIENTS" in message
    assert "orders" in message
    assert "hunter2" not in message

    broken = {"orders": {"secret": "a-long-enough-secret-1", "audiences": []}}
    message = _problems(environment="production", service_clients=json.dumps(broken), **VAULT)
    assert "orders.audiences" in message
    assert "a-long-enough-secret-1" not in message

    good = {"orders": {"secret": "a-long-enough-secret-1", "audiences": ["inventory"]}}
    settings = _settings(environment="production", service_clients=json.dumps(good), **VAULT)
    assert settings.clients()["orders"].audiences == frozenset({"inventory"})


def test_first_admin_needs_both_values_and_a_strong_password() -> None:
    alone = _problems(environment="development", first_admin_email="root@example.com")
    assert "go together" in alone
    weak = _problems(
        environment="development",
        first_admin_email="root@example.com",
        first_admin_password="rootroot",
    )
    assert "AUTH_FIRST_ADMIN_PASSWORD is too weak" in weak
    settings = _settings(
        environment="development",
        first_admin_email=" Root@Example.com ",
        first_admin_password="staple of the realm 7",
    )
    assert settings.first_admin_email == "root@example.com"


def test_bad_values_are_reported_together() -> None:
    message = _problems(
        environment="development",
        cassandra_replication="{}",
        refresh_token_lifetime_seconds=10,
        vault_addr="vault:8200",
    )
    assert "(3 problems)" in message
    assert "AUTH_CASSANDRA_REPLICATION" in message
    assert "AUTH_REFRESH_TOKEN_LIFETIME_SECONDS" in message
    assert "AUTH_VAULT_ADDR" in message
