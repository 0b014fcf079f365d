"""The catalog's settings: strict outside development, defaults that suit devstack."""

from __future__ import annotations

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
