"""ServiceSettings: env only, secrets from files, fail fast listing every bad variable."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from productstore_common.settings import (
    PLACEHOLDER_SECRETS,
    SHARED_VARIABLES,
    VAULT_SECRETS_DIR,
    ServiceSettings,
    SettingsError,
)

REAL_KEY = "k3y-0f-the-t3st-s3rvice"


class PstestSettings(ServiceSettings):
    """A service with its own prefix and a required secret, as real services have."""

    model_config = SettingsConfigDict(env_prefix="PSTEST_")
    service_name: str = "pstest"
    api_key: SecretStr


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean slate: no PSTEST_ variables but the ones a test sets."""
    for name in list(os.environ):
        if name.upper().startswith(("PSTEST_", "PRODUCTSTORE_")) or (
            name.upper() in SHARED_VARIABLES.values()
        ):
            monkeypatch.delenv(name)
    return monkeypatch


def load(tmp_path: Path, **values: Any) -> PstestSettings:
    # The Vault directory is a per-test folder, never the machine's /vault/secrets.
    # (pydantic-settings' `_secrets_dir` init option is not in the typed signature.)
    options: dict[str, Any] = {"_secrets_dir": tmp_path / "vault"}
    return PstestSettings(**options, **values)


def test_defaults_are_the_local_devstack(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    settings = load(tmp_path)
    assert settings.environment == "production"
    assert settings.service_name == "pstest"
    assert settings.cassandra_contact_points == ["127.0.0.1"]
    assert settings.cassandra_port == 9042
    assert settings.cassandra_consistency == "LOCAL_QUORUM"
    assert settings.kafka_bootstrap_servers == ["127.0.0.1:9092"]
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.otlp_endpoint is None
    assert settings.api_key.get_secret_value() == REAL_KEY
    assert PstestSettings.model_config.get("secrets_dir") == VAULT_SECRETS_DIR


@pytest.mark.parametrize(
    ("variables", "field", "expected"),
    [
        (
            {"PSTEST_CASSANDRA_CONTACT_POINTS": "10.0.0.1, 10.0.0.2"},
            "cassandra_contact_points",
            ["10.0.0.1", "10.0.0.2"],
        ),
        ({"PSTEST_CASSANDRA_CONSISTENCY": "one"}, "cassandra_consistency", "ONE"),
        ({"PSTEST_CASSANDRA_PORT": "19042"}, "cassandra_port", 19042),
        (
            {"PSTEST_KAFKA_BOOTSTRAP_SERVERS": "k1:9092,k2:9093"},
            "kafka_bootstrap_servers",
            ["k1:9092", "k2:9093"],
        ),
        ({"PSTEST_LOG_LEVEL": "debug"}, "log_level", "DEBUG"),
        ({"PSTEST_TRACE_SAMPLE_RATIO": "0.25"}, "trace_sample_ratio", 0.25),
        ({"pstest_environment": "test"}, "environment", "test"),
        (
            {"PSTEST_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
            "otlp_endpoint",
            "http://127.0.0.1:4318",
        ),
        ({"PSTEST_REDIS_URL": "rediss://cache:6380/1"}, "redis_url", "rediss://cache:6380/1"),
    ],
)
def test_good_values(
    env: pytest.MonkeyPatch,
    tmp_path: Path,
    variables: dict[str, str],
    field: str,
    expected: object,
) -> None:
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    for name, value in variables.items():
        env.setenv(name, value)
    assert getattr(load(tmp_path), field) == expected


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PSTEST_CASSANDRA_PORT", "nine", "valid integer"),
        ("PSTEST_CASSANDRA_PORT", "70000", "less than or equal to 65535"),
        ("PSTEST_CASSANDRA_KEYSPACE", "bad-name", "not a valid keyspace name"),
        ("PSTEST_CASSANDRA_CONSISTENCY", "MOST", "'LOCAL_QUORUM'"),
        ("PSTEST_CASSANDRA_CONTACT_POINTS", " , ", "needs at least one host"),
        ("PSTEST_KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2", "got k2"),
        ("PSTEST_REDIS_URL", "http://cache", "redis://"),
        ("PSTEST_OTLP_ENDPOINT", "127.0.0.1:4318", "http:// or https://"),
        ("PSTEST_TRACE_SAMPLE_RATIO", "1.5", "less than or equal to 1"),
        ("PSTEST_ENVIRONMENT", "staging", "'development', 'test' or 'production'"),
        ("PSTEST_LOG_LEVEL", "loud", "'INFO'"),
    ],
)
def test_bad_values_name_the_variable(
    env: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, message: str
) -> None:
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    env.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load(tmp_path)
    assert raised.value.problems[0][0] == variable
    assert message in str(raised.value)


def test_replication_map(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    # Only the prefixed name counts: the chart sets <SERVICE>_CASSANDRA_REPLICATION,
    # and the unprefixed one belongs to the migration CLI.
    env.setenv("CASSANDRA_REPLICATION", '{"class": "NetworkTopologyStrategy", "dc9": 5}')
    assert load(tmp_path).replication() == {"class": "SimpleStrategy", "replication_factor": 1}
    env.setenv("PSTEST_CASSANDRA_REPLICATION", '{"class": "NetworkTopologyStrategy", "dc1": 3}')
    assert load(tmp_path).replication() == {"class": "NetworkTopologyStrategy", "dc1": 3}
    for bad in ("3", "{}", "not json", '["class"]'):
        env.setenv("PSTEST_CASSANDRA_REPLICATION", bad)
        with pytest.raises(SettingsError) as raised:
            load(tmp_path)
        assert raised.value.problems == [
            (
                "PSTEST_CASSANDRA_REPLICATION",
                'must be a JSON object with a "class", e.g. '
                '{"class": "NetworkTopologyStrategy", "dc1": 3}',
            )
        ]


@pytest.mark.parametrize("placeholder", sorted(PLACEHOLDER_SECRETS))
@pytest.mark.parametrize("environment", ["test", "production"])
def test_placeholder_secrets_refused_outside_development(
    env: pytest.MonkeyPatch, tmp_path: Path, placeholder: str, environment: str
) -> None:
    env.setenv("PSTEST_ENVIRONMENT", environment)
    env.setenv("PSTEST_API_KEY", f"  {placeholder.upper()}\n")
    with pytest.raises(ValueError, match=r"PSTEST_API_KEY: is empty or a placeholder"):
        load(tmp_path)


def test_placeholder_secrets_allowed_in_development(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("PSTEST_ENVIRONMENT", "development")
    env.setenv("PSTEST_API_KEY", "changethis")
    env.setenv("PSTEST_CASSANDRA_USERNAME", "app")
    env.setenv("PSTEST_CASSANDRA_PASSWORD", "changeme")
    settings = load(tmp_path)
    assert settings.api_key.get_secret_value() == "changethis"


def test_optional_secret_may_be_absent_but_not_a_placeholder(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    assert load(tmp_path).cassandra_password is None
    env.setenv("PSTEST_CASSANDRA_USERNAME", "app")
    env.setenv("PSTEST_CASSANDRA_PASSWORD", "cassandra-pw-7f3a")
    password = load(tmp_path).cassandra_password
    assert password is not None
    assert password.get_secret_value() == "cassandra-pw-7f3a"
    env.setenv("PSTEST_CASSANDRA_PASSWORD", "secret")
    with pytest.raises(SettingsError, match="PSTEST_CASSANDRA_PASSWORD"):
        load(tmp_path)


def test_missing_required_secret(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as raised:
        load(tmp_path)
    assert raised.value.problems == [("PSTEST_API_KEY", "is required but not set")]


def test_secret_is_never_shown(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    settings = load(tmp_path)
    assert REAL_KEY not in repr(settings)
    assert REAL_KEY not in str(settings.model_dump())


def test_every_problem_in_one_message(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("PSTEST_API_KEY", "changeme")
    env.setenv("PSTEST_CASSANDRA_PORT", "x")
    env.setenv("PSTEST_CASSANDRA_KEYSPACE", "1abc")
    env.setenv("PSTEST_REDIS_URL", "memcached://x")
    with pytest.raises(SettingsError) as raised:
        load(tmp_path)
    variables = sorted(variable for variable, _ in raised.value.problems)
    assert variables == [
        "PSTEST_API_KEY",
        "PSTEST_CASSANDRA_KEYSPACE",
        "PSTEST_CASSANDRA_PORT",
        "PSTEST_REDIS_URL",
    ]
    message = str(raised.value)
    assert message.startswith("invalid configuration of pstest (4 problems):")
    assert all(variable in message for variable in variables)


def test_secret_from_file_variable(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = tmp_path / "api-key"
    secret_file.write_text(f"{REAL_KEY}\n")
    env.setenv("PSTEST_API_KEY_FILE", str(secret_file))
    assert load(tmp_path).api_key.get_secret_value() == REAL_KEY


def test_missing_secret_file_names_variable_and_path(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "api-key"
    env.setenv("PSTEST_API_KEY_FILE", str(missing))
    env.setenv("PSTEST_CASSANDRA_PORT", "x")
    with pytest.raises(SettingsError) as raised:
        load(tmp_path)
    problems = dict(raised.value.problems)
    assert set(problems) == {"PSTEST_API_KEY", "PSTEST_CASSANDRA_PORT"}
    assert str(missing) in problems["PSTEST_API_KEY"]
    assert "PSTEST_API_KEY_FILE" in problems["PSTEST_API_KEY"]
    assert "No such file" in problems["PSTEST_API_KEY"]


def test_placeholder_in_secret_file_refused(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = tmp_path / "api-key"
    secret_file.write_text("changethis\n")
    env.setenv("PSTEST_API_KEY_FILE", str(secret_file))
    with pytest.raises(SettingsError, match="PSTEST_API_KEY: is empty or a placeholder"):
        load(tmp_path)


def test_value_and_file_together_is_ambiguous(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = tmp_path / "api-key"
    secret_file.write_text(REAL_KEY)
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    env.setenv("PSTEST_API_KEY_FILE", str(secret_file))
    with pytest.raises(SettingsError, match="set either PSTEST_API_KEY or PSTEST_API_KEY_FILE"):
        load(tmp_path)


def test_secret_from_vault_agent_file(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "api_key").write_text(f"{REAL_KEY}\n")
    (vault / "cassandra_password").write_text("from-vault-9c1e")
    (vault / "cassandra_username").write_text("app\n")
    settings = load(tmp_path)
    assert settings.api_key.get_secret_value() == REAL_KEY
    assert settings.cassandra_password is not None
    assert settings.cassandra_password.get_secret_value() == "from-vault-9c1e"


def test_secret_from_a_kv_entry_rendered_as_json(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What charts/productstore's Vault agent templates write: one JSON file per KV entry."""
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "api").write_text(json.dumps({"key": REAL_KEY, "other": "x"}) + "\n")
    (vault / "cassandra").write_text(json.dumps({"username": "app", "password": "pw-7f3a91"}))
    settings = load(tmp_path)
    assert settings.api_key.get_secret_value() == REAL_KEY
    assert settings.cassandra_password is not None
    assert settings.cassandra_password.get_secret_value() == "pw-7f3a91"
    # The role's name comes from the same file: a pod given only the password
    # could not log in (it used to stay unset).
    assert settings.cassandra_username == "app"


def test_kv_entry_without_the_field_leaves_it_unset(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "api").write_text(json.dumps({"token": REAL_KEY}))
    (vault / "cassandra").write_text("not json: a raw secret of some other field")
    with pytest.raises(SettingsError) as raised:
        load(tmp_path)
    assert raised.value.problems == [("PSTEST_API_KEY", "is required but not set")]


def test_kv_entry_field_that_is_not_text(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "api").write_text(json.dumps({"key": 42}))
    with pytest.raises(SettingsError, match="'key' is not a string"):
        load(tmp_path)


def test_variable_wins_over_vault_file(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "api_key").write_text("from-vault-2b7d")
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    assert load(tmp_path).api_key.get_secret_value() == REAL_KEY


def test_constructor_values_win(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("PSTEST_API_KEY", "changeme")
    env.setenv("PSTEST_CASSANDRA_PORT", "x")
    settings = load(tmp_path, api_key=REAL_KEY, cassandra_port=9142)
    assert settings.cassandra_port == 9142
    assert settings.api_key.get_secret_value() == REAL_KEY


def test_only_variables_with_the_prefix_count(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    env.setenv("PRODUCTSTORE_CASSANDRA_PORT", "x")  # the base class's prefix, not ours
    env.setenv("CASSANDRA_CONSISTENCY", "x")  # not a shared connection setting
    settings = load(tmp_path)
    assert settings.cassandra_port == 9042
    assert settings.cassandra_consistency == "LOCAL_QUORUM"


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        (
            "CASSANDRA_CONTACT_POINTS",
            "10.1.0.1, 10.1.0.2",
            "cassandra_contact_points",
            ["10.1.0.1", "10.1.0.2"],
        ),
        ("CASSANDRA_PORT", "19042", "cassandra_port", 19042),
        ("CASSANDRA_LOCAL_DC", "dc2", "cassandra_local_dc", "dc2"),
        ("CASSANDRA_KEYSPACE", "ps_shop", "cassandra_keyspace", "ps_shop"),
        (
            "KAFKA_BOOTSTRAP_SERVERS",
            "k1:9092,k2:9092",
            "kafka_bootstrap_servers",
            ["k1:9092", "k2:9092"],
        ),
        ("REDIS_URL", "redis://cache:6379/1", "redis_url", "redis://cache:6379/1"),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://collector:4318",
            "otlp_endpoint",
            "http://collector:4318",
        ),
        ("OTEL_TRACES_SAMPLER_ARG", "0.25", "trace_sample_ratio", 0.25),
        ("LOG_LEVEL", "debug", "log_level", "DEBUG"),
    ],
)
def test_shared_connection_variables_are_read_unprefixed(
    env: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    variable: str,
    value: str,
    field: str,
    expected: Any,
) -> None:
    """What the chart's ConfigMap and `devstack env` set once for every service."""
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    env.setenv(variable, value)
    assert getattr(load(tmp_path), field) == expected


def test_prefixed_variable_wins_over_the_shared_one(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    env.setenv("REDIS_URL", "redis://shared:6379/0")
    env.setenv("PSTEST_REDIS_URL", "redis://mine:6379/0")
    assert load(tmp_path).redis_url == "redis://mine:6379/0"


def test_bad_shared_variable_is_named_as_set(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    env.setenv("CASSANDRA_PORT", "not-a-port")
    with pytest.raises(SettingsError) as raised:
        load(tmp_path)
    assert raised.value.problems[0][0] == "CASSANDRA_PORT"


@pytest.mark.parametrize(
    ("variables", "missing"),
    [
        ({"PSTEST_CASSANDRA_PASSWORD": "cassandra-pw-7f3a"}, "PSTEST_CASSANDRA_USERNAME"),
        ({"PSTEST_CASSANDRA_USERNAME": "app"}, "PSTEST_CASSANDRA_PASSWORD"),
    ],
)
def test_cassandra_role_and_password_go_together(
    env: pytest.MonkeyPatch, tmp_path: Path, variables: dict[str, str], missing: str
) -> None:
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    for name, value in variables.items():
        env.setenv(name, value)
    with pytest.raises(SettingsError, match=f"{missing} is not set"):
        load(tmp_path)


def test_cassandra_username_from_a_file_variable(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "user").write_text("catalog_role\n")
    env.setenv("PSTEST_API_KEY", REAL_KEY)
    env.setenv("PSTEST_CASSANDRA_USERNAME_FILE", str(tmp_path / "user"))
    env.setenv("PSTEST_CASSANDRA_PASSWORD", "cassandra-pw-7f3a")
    assert load(tmp_path).cassandra_username == "catalog_role"
