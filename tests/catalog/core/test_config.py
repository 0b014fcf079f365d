"""The catalog's settings: strict outside development, defaults that suit devstack."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.main import create_app
from productstore_common.settings import SettingsError

JWKS = "http://127.0.0.1:8101/api/auth/.well-known/jwks.json"


def test_development_defaults() -> None:
    settings = CatalogSettings(environment="development", jwt_jwks_url=JWKS)
    assert settings.service_name == "catalog"
    assert settings.cassandra_keyspace == "catalog"
    assert settings.events_topic == "productstore.catalog"
    assert settings.migrates_on_start
    assert settings.creates_topics


def test_production_needs_a_cursor_key_and_migrates_nothing_itself() -> None:
    with pytest.raises(SettingsError, match="CATALOG_SEARCH_CURSOR_KEY"):
        CatalogSettings(environment="production", jwt_jwks_url=JWKS)
    settings = CatalogSettings(
        environment="production", jwt_jwks_url=JWKS, search_cursor_key=SecretStr("k" * 32)
    )
    assert not settings.migrates_on_start
    assert not settings.creates_topics


def test_production_pod_reads_what_the_chart_and_the_vault_agent_give(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The ConfigMap charts/productstore renders for catalog, and the file the Vault
    # agent writes from the operator's KV entry ({{ .Data.data | toJSON }}).
    chart_env = {
        "CASSANDRA_KEYSPACE": "ps_shop_a7fdec58_catalog",
        "CATALOG_MIGRATE_ON_START": "true",
        "CATALOG_CREATE_TOPICS": "true",
        "CATALOG_CASSANDRA_REPLICATION": '{"class": "NetworkTopologyStrategy", "dc1": 3}',
        "CATALOG_JWT_JWKS_URL": JWKS,
    }
    for name, value in chart_env.items():
        monkeypatch.setenv(name, value)
    key = secrets.token_urlsafe(32)
    (tmp_path / "search_cursor").write_text(json.dumps({"key": key}, separators=(",", ":")))
    # pydantic-settings' `_secrets_dir` init option is not in the typed signature.
    options: dict[str, Any] = {"_secrets_dir": tmp_path}
    settings = CatalogSettings(**options)
    assert settings.environment == "production"
    assert settings.search_cursor_key is not None
    assert settings.search_cursor_key.get_secret_value() == key
    assert settings.migrates_on_start
    assert settings.creates_topics
    assert settings.cassandra_keyspace == "ps_shop_a7fdec58_catalog"
    assert settings.replication() == {"class": "NetworkTopologyStrategy", "dc1": 3}
    # Without the agent's file, production refuses to start.
    with pytest.raises(SettingsError, match="CATALOG_SEARCH_CURSOR_KEY"):
        options["_secrets_dir"] = tmp_path / "empty"
        CatalogSettings(**options)


def test_settings_come_from_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_ENVIRONMENT", "development")
    monkeypatch.setenv("CATALOG_MIGRATE_ON_START", "false")
    monkeypatch.setenv("CATALOG_CACHE_TTL_SECONDS", "30")
    monkeypatch.setenv("CATALOG_EVENTS_TOPIC", "shop.catalog")
    settings = CatalogSettings()
    assert not settings.migrates_on_start
    assert settings.cache_ttl_seconds == 30
    assert settings.events_topic == "shop.catalog"


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"cassandra_replication": "3"}, "CATALOG_CASSANDRA_REPLICATION"),
        ({"cache_ttl_seconds": 0}, "CATALOG_CACHE_TTL_SECONDS"),
        ({"events_topic": "bad topic"}, "CATALOG_EVENTS_TOPIC"),
        ({"cassandra_keyspace": "bad-name"}, "CATALOG_CASSANDRA_KEYSPACE"),
        ({"search_default_limit": 101}, "CATALOG_SEARCH_DEFAULT_LIMIT"),
    ],
)
def test_bad_values_name_the_variable(values: dict[str, Any], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        CatalogSettings(environment="development", jwt_jwks_url=JWKS, **values)


def test_the_app_needs_the_jwks_url() -> None:
    with pytest.raises(SettingsError, match="CATALOG_JWT_JWKS_URL"):
        create_app(CatalogSettings(environment="development"))
