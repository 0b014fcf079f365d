"""Settings of a service process: environment variables only, checked at start.

Each service subclasses `ServiceSettings` and sets its own `env_prefix`:

    class Settings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="CATALOG_")
        service_name: str = "catalog"
        signing_key: SecretStr          # required secret

Every `SecretStr` field is a secret. Its value comes, first match wins, from the
constructor, the variable itself (`CATALOG_SIGNING_KEY`), a file named by
`CATALOG_SIGNING_KEY_FILE`, or the file the Vault agent renders to
`/vault/secrets/signing_key` (the field's name; the directory is the
`secrets_dir` config key), or the `key` field of a JSON file holding a whole KV
entry, as the chart renders it (`/vault/secrets/signing` with `{"key": ...}`).
Outside `development` a secret that is missing, empty or a well-known
placeholder ("changethis", ...) is refused.

Shared connection settings (Cassandra, Kafka, Redis, OTLP endpoint, sample
ratio, log level, service name) are also read under their conventional,
unprefixed names (`CASSANDRA_CONTACT_POINTS`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
...: see SHARED_VARIABLES), which the Helm chart's ConfigMap and `devstack env`
set once for every service; the prefixed variable wins when both are set.

A bad configuration raises `SettingsError` (a `ValueError`) at start with one
message naming every bad variable, so a deployment fails once, not once per fix.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

Environment = Literal["development", "test", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
ConsistencyName = Literal[
    "ANY",
    "ONE",
    "TWO",
    "THREE",
    "QUORUM",
    "ALL",
    "LOCAL_QUORUM",
    "EACH_QUORUM",
    "LOCAL_ONE",
]

VAULT_SECRETS_DIR = "/vault/secrets"
# Fits a single local node; clusters set e.g. {"class": "NetworkTopologyStrategy", "dc1": 3}.
DEFAULT_REPLICATION = '{"class": "SimpleStrategy", "replication_factor": 1}'

# Values that templates and examples ship with; a real deployment never uses them.
PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changethis",
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "password",
        "passw0rd",
        "admin",
        "default",
        "example",
        "placeholder",
        "todo",
        "xxx",
        "test",
    }
)

_CQL_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
_HOST_PORT = re.compile(r"^[^\s:/]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$")


class SettingsError(ValueError):
    """The process's configuration is invalid; the message lists every problem."""

    def __init__(self, service: str, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {variable}: {message}" for variable, message in problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"invalid configuration of {service} ({count}):\n{lines}")


class _Unreadable:
    """Stands in for a secret whose file could not be read, so the error is
    reported with every other problem instead of aborting the load."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def is_secret_field(field: FieldInfo) -> bool:
    """Whether `field` holds a secret (annotated `SecretStr` or `SecretStr | None`)."""
    annotation = field.annotation
    if annotation is SecretStr:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return SecretStr in typing.get_args(annotation)
    return False


def _read_secret_file(path: Path, named_by: str) -> str | _Unreadable:
    try:
        # Files rendered by templates end with a newline that is not part of the secret.
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        return _Unreadable(f"cannot read the secret file {path} ({named_by}): {exc.strerror}")


def _from_vault_dir(secrets_dir: Path, name: str) -> str | _Unreadable | None:
    """The secret `name` as the Vault agent rendered it, or None.

    Either a file of its own (`/vault/secrets/cassandra_password`, the raw
    value), or a field of a JSON file that holds a whole KV entry, as the
    chart's agent templates render it (`/vault/secrets/cassandra` holding
    `{"password": ...}`): the field name is split at each underscore.
    """
    own = secrets_dir / name
    if own.is_file():
        return _read_secret_file(own, "rendered by the Vault agent")
    parts = name.split("_")
    for split in range(1, len(parts)):
        group = secrets_dir / "_".join(parts[:split])
        key = "_".join(parts[split:])
        if not group.is_file():
            continue
        text = _read_secret_file(group, "rendered by the Vault agent")
        if isinstance(text, _Unreadable):
            return text
        try:
            entry = json.loads(text)
        except ValueError:
            continue  # a raw secret of another field, not a KV entry
        if isinstance(entry, dict) and key in entry:
            value = entry[key]
            if not isinstance(value, str):
                return _Unreadable(
                    f"{group} (rendered by the Vault agent): {key!r} is not a string"
                )
            return value
    return None


# Not secrets, but rendered by the Vault agent in the same KV entry as their secret
# (`/vault/secrets/cassandra` holds {"username", "password"}): a pod gets its
# Cassandra role from the file that carries the role's password, and `_FILE` works
# for them too.
FILE_FIELDS: frozenset[str] = frozenset({"cassandra_username"})


def _read_from_files(name: str, field: FieldInfo, file_fields: frozenset[str]) -> bool:
    return is_secret_field(field) or name in file_fields


class SecretFilesSource(PydanticBaseSettingsSource):
    """Secrets from `<VAR>_FILE` files and from the Vault agent's secrets directory."""

    def __init__(self, settings_cls: type[BaseSettings], secrets_dir: Path | None) -> None:
        super().__init__(settings_cls)
        self.secrets_dir = secrets_dir

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ resolves every secret field itself.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        prefix = str(self.config.get("env_prefix", ""))
        environ = {key.upper(): value for key, value in os.environ.items()}
        values: dict[str, Any] = {}
        file_fields: frozenset[str] = getattr(self.settings_cls, "file_fields", FILE_FIELDS)
        for name, field in self.settings_cls.model_fields.items():
            if not _read_from_files(name, field, file_fields):
                continue
            variable = f"{prefix}{name}".upper()
            file_variable = f"{variable}_FILE"
            if name in self.current_state:  # given to the constructor
                continue
            if file_variable in environ:
                if variable in environ:
                    values[name] = _Unreadable(
                        f"set either {variable} or {file_variable}, not both"
                    )
                else:
                    values[name] = _read_secret_file(Path(environ[file_variable]), file_variable)
            elif variable not in environ and self.secrets_dir is not None:
                from_vault = _from_vault_dir(self.secrets_dir, name)
                if from_vault is not None:
                    values[name] = from_vault
        return values


# Connection settings every service shares, under their conventional names: the
# chart's ConfigMap and `devstack env` set these once for all services, and
# OTEL_* are OpenTelemetry's own. A service's prefixed variable still wins.
SHARED_VARIABLES: dict[str, str] = {
    "service_name": "SERVICE_NAME",
    "log_level": "LOG_LEVEL",
    "cassandra_contact_points": "CASSANDRA_CONTACT_POINTS",
    "cassandra_port": "CASSANDRA_PORT",
    "cassandra_local_dc": "CASSANDRA_LOCAL_DC",
    "cassandra_keyspace": "CASSANDRA_KEYSPACE",
    "kafka_bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "redis_url": "REDIS_URL",
    "otlp_endpoint": "OTEL_EXPORTER_OTLP_ENDPOINT",
    "trace_sample_ratio": "OTEL_TRACES_SAMPLER_ARG",
    # Where every service of a store reads auth's public keys.
    "jwt_jwks_url": "JWT_JWKS_URL",
    # The gateway (or mesh sidecar) addresses whose X-Client-Address is believed.
    "trusted_proxies": "TRUSTED_PROXIES",
}


class SharedVariablesSource(PydanticBaseSettingsSource):
    """The unprefixed, shared names of SHARED_VARIABLES, below the prefixed ones."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ resolves the shared fields itself.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        environ = {key.upper(): value for key, value in os.environ.items()}
        return {
            name: environ[variable]
            for name, variable in SHARED_VARIABLES.items()
            if name in self.settings_cls.model_fields and variable in environ
        }


def _split_list(value: Any) -> Any:
    # Lists come from env as "a,b,c"; JSON lists would be surprising in a Helm value.
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class ServiceSettings(BaseSettings):
    """What every service process needs; subclass it per service (see module doc)."""

    model_config = SettingsConfigDict(
        env_prefix="PRODUCTSTORE_",
        extra="ignore",
        case_sensitive=False,
        secrets_dir=VAULT_SECRETS_DIR,
        validate_default=True,
    )

    # Fields that are not secrets but come from the Vault agent's files (and `_FILE`)
    # too, as the secret they go with: a service adds its own (a third party's
    # settings an administrator keeps beside its credential, ADR 0039).
    file_fields: ClassVar[frozenset[str]] = FILE_FIELDS

    # First field: validators of later fields read it to decide how strict to be.
    # Production by default, so a forgotten variable errs on the strict side.
    environment: Environment = "production"
    service_name: str = Field(default="productstore", pattern=r"^[a-z][a-z0-9-]{0,62}$")

    cassandra_contact_points: Annotated[list[str], NoDecode] = ["127.0.0.1"]
    cassandra_port: int = Field(default=9042, ge=1, le=65535)
    cassandra_local_dc: str = "datacenter1"
    cassandra_keyspace: str = "productstore"
    # LOCAL_QUORUM in clusters; a single local node needs ONE.
    cassandra_consistency: ConsistencyName = "LOCAL_QUORUM"
    cassandra_username: str | None = None
    cassandra_password: SecretStr | None = None
    # The longest wait between attempts to reconnect to a Cassandra node that is down
    # (the driver doubles it from 1 s): how long a recovered node can go unused.
    cassandra_reconnect_max_delay_seconds: float = Field(default=10.0, gt=0, le=600)
    # JSON replication map of the keyspace when the service creates it at start-up.
    cassandra_replication: str = DEFAULT_REPLICATION

    redis_url: str = "redis://127.0.0.1:6379/0"
    kafka_bootstrap_servers: Annotated[list[str], NoDecode] = ["127.0.0.1:9092"]

    # Base URL of an OTLP/HTTP collector (".../v1/traces" is appended); unset = no export.
    otlp_endpoint: str | None = None
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    log_level: LogLevel = "INFO"
    # uvicorn's log line per request. Off by default: the gateway (nginx, the mesh)
    # logs every request already, and a JSON line per request cost ~15 % of a cached
    # read's CPU.
    access_log: bool = False

    # Retry-After (seconds) of the 503 a request gets while a dependency (Cassandra,
    # Redis, Kafka, Vault) is unavailable (productstore_common.outages). About how
    # long a restarted node takes to be used again: the Cassandra driver reconnects
    # within seconds, the readiness probe takes the pod out meanwhile.
    dependency_retry_after_seconds: int = Field(default=5, ge=1, le=3600)

    jwt_issuer: str = "productstore-auth"
    jwt_audience: str = "productstore"
    jwt_jwks_url: str | None = None

    # Addresses or networks (comma-separated, "127.0.0.1,10.0.0.0/8") of the proxies
    # whose X-Client-Address header names the client (productstore_common.client_address):
    # the gateway, or the mesh sidecar (127.0.0.6). Empty: no proxy is believed, the
    # client is the connection's peer.
    trusted_proxies: Annotated[list[str], NoDecode] = []

    # Apply the service's CQL migrations at start-up; unset means "in development only"
    # (charts/productstore sets it true; an LWT lock serialises the replicas).
    migrate_on_start: bool | None = None
    # Create the topics the service produces to (and their .dlq) at start-up; unset
    # means "in development only" (charts/productstore sets it true).
    create_topics: bool | None = None

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise self._settings_error(exc) from None

    @classmethod
    def _settings_error(cls, exc: ValidationError) -> SettingsError:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems: list[tuple[str, str]] = []
        environ = {key.upper() for key in os.environ}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            variable = f"{prefix}{field}".upper() if field else "(settings)"
            shared = SHARED_VARIABLES.get(field)
            if shared and variable not in environ and shared in environ:
                variable = shared  # the value came from the shared name: say so
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "missing":
                message = "is required but not set"
            problems.append((variable, message))
        service = cls.model_fields["service_name"].default
        return SettingsError(str(service), problems)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Env only: no .env files, a stray file must not change a deployment. The
        # built-in secrets source is replaced by ours, which sits before env so that
        # its "set X or X_FILE, not both" error is not hidden by X's value.
        configured = getattr(file_secret_settings, "secrets_dir", None)
        secrets_dir = Path(configured) if isinstance(configured, str | Path) else None
        return (
            init_settings,
            SecretFilesSource(settings_cls, secrets_dir),
            env_settings,
            SharedVariablesSource(settings_cls),
        )

    @field_validator("*", mode="before")
    @classmethod
    def _report_unreadable(cls, value: Any) -> Any:
        if isinstance(value, _Unreadable):
            raise ValueError(value.reason)  # noqa: TRY004 - pydantic turns it into a field error
        return value

    @field_validator(
        "cassandra_contact_points", "kafka_bootstrap_servers", "trusted_proxies", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        bad = []
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                bad.append(item)
        if bad:
            raise ValueError(
                f"expected comma-separated IP addresses or networks (10.0.0.0/8), "
                f"got {', '.join(bad)}"
            )
        return value

    @field_validator("cassandra_contact_points", "kafka_bootstrap_servers")
    @classmethod
    def _not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("needs at least one host")
        return value

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _host_ports(cls, value: list[str]) -> list[str]:
        bad = [server for server in value if not _HOST_PORT.match(server)]
        if bad:
            raise ValueError(f"expected comma-separated host:port, got {', '.join(bad)}")
        return value

    @field_validator("cassandra_consistency", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("cassandra_keyspace")
    @classmethod
    def _keyspace(cls, value: str) -> str:
        if not _CQL_IDENTIFIER.match(value):
            raise ValueError(
                f"{value!r} is not a valid keyspace name (a letter, then up to 47 letters, "
                "digits or underscores)"
            )
        return value

    @field_validator("cassandra_replication")
    @classmethod
    def _replication(cls, value: str) -> str:
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or "class" not in parsed:
            raise ValueError(
                'must be a JSON object with a "class", e.g. '
                '{"class": "NetworkTopologyStrategy", "dc1": 3}'
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("otlp_endpoint", "jwt_jwks_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("*")
    @classmethod
    def _real_secret(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, SecretStr):
            return value
        environment = info.data.get("environment")
        if environment == "development":
            return value
        if value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
            prefix = str(cls.model_config.get("env_prefix", "")).upper()
            raise ValueError(
                f"is empty or a placeholder; set a real secret for {environment or 'this'} "
                f"environment (or {prefix}ENVIRONMENT=development for a local run)"
            )
        return value

    @field_validator("cassandra_password")
    @classmethod
    def _role_and_password(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # Caught here rather than at the first connection: a password without its
        # role name cannot log in, and a role without a password is refused.
        username = info.data.get("cassandra_username")
        if (value is None) != (username is None):
            prefix = str(cls.model_config.get("env_prefix", "")).upper()
            missing = "CASSANDRA_PASSWORD" if value is None else "CASSANDRA_USERNAME"
            raise ValueError(
                f"the Cassandra role name and password go together: {prefix}{missing} "
                "is not set (in a cluster both come from /vault/secrets/cassandra)"
            )
        return value

    @property
    def migrates_on_start(self) -> bool:
        if self.migrate_on_start is not None:
            return self.migrate_on_start
        return self.environment == "development"

    @property
    def creates_topics(self) -> bool:
        if self.create_topics is not None:
            return self.create_topics
        return self.environment == "development"

    def replication(self) -> dict[str, Any]:
        """The replication map for a keyspace created at start-up."""
        parsed: dict[str, Any] = json.loads(self.cassandra_replication)
        return parsed
