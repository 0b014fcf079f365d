"""The auth service's settings: `ServiceSettings` plus tokens, passwords, keys, clients.

Environment variables with the `AUTH_` prefix (`AUTH_CASSANDRA_KEYSPACE`,
`AUTH_VAULT_ADDR`, ...); secrets may also come from `AUTH_<NAME>_FILE` or the
Vault agent's `/vault/secrets/<name>` (see productstore_common.settings).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsConfigDict

from productstore_auth.app.core.policy import normalise_email, password_problems
from productstore_common.auth.tokens import DEFAULT_LEEWAY_SECONDS
from productstore_common.settings import ServiceSettings

KUBERNETES_TOKEN_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
# Below this a client secret can be guessed; generate them (`openssl rand -base64 32`).
MIN_CLIENT_SECRET_LENGTH = 16
# Between the clocks of auth's replicas and of verifiers, beyond the verifiers' leeway.
KEY_CLOCK_SKEW = timedelta(seconds=60)


class ServiceClient(BaseModel):
    """A service that may ask for service tokens (OAuth2 client credentials)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret: SecretStr
    audiences: frozenset[str] = Field(
        min_length=1, description="The services this client may call (token `aud` values)"
    )


_CLIENTS = TypeAdapter(dict[str, ServiceClient])


class AuthSettings(ServiceSettings):
    """Settings of the auth service process."""

    model_config = SettingsConfigDict(env_prefix="AUTH_")

    service_name: str = Field(default="auth", pattern=r"^[a-z][a-z0-9-]{0,62}$")
    cassandra_keyspace: str = "auth"

    # Tokens.
    access_token_lifetime_seconds: int = Field(default=900, ge=60, le=3600)
    refresh_token_lifetime_seconds: int = Field(default=14 * 86400, ge=300)
    # A login's refresh family ends after this, however often it is rotated.
    session_lifetime_seconds: int = Field(default=30 * 86400, ge=300)
    service_token_lifetime_seconds: int = Field(default=300, ge=30, le=3600)

    # argon2id cost (argon2-cffi's RFC 9106 low-memory profile by default).
    password_hash_time_cost: int = Field(default=3, ge=1, le=10)
    password_hash_memory_kib: int = Field(default=65536, ge=1024, le=1048576)
    password_hash_parallelism: int = Field(default=4, ge=1, le=16)
    # Hashes running at once: each holds `memory_kib` and a CPU.
    password_hash_concurrency: int = Field(default=4, ge=1, le=64)

    # Login limits in Redis (data/login_attempts.py): attempts per client address per
    # fixed window; per account, failures free of delay, then a delay before each
    # further try that starts at the first and doubles per failure up to the max;
    # failures are forgotten a window after their delay ended, or at a success.
    login_window_seconds: int = Field(default=60, ge=1, le=86400)
    login_attempts_per_account: int = Field(default=10, ge=1)
    login_attempts_per_ip: int = Field(default=100, ge=1)
    login_first_delay_seconds: float = Field(default=1.0, gt=0, le=60)
    login_max_delay_seconds: float = Field(default=30.0, gt=0, le=3600)
    redis_key_prefix: str = Field(default="auth", pattern=r"^[A-Za-z0-9:_.-]{1,64}$")

    # Limits of the other unauthenticated endpoints (productstore_common.ratelimit, GCRA
    # in Redis), per client address as the gateway saw it: each registration costs an
    # argon2 hash (64 MiB) and answers whether an address has an account; service
    # tokens are also limited per client id, summed over all addresses.
    register_attempts_per_ip: int = Field(default=10, ge=1)
    register_window_seconds: int = Field(default=3600, ge=1, le=86400)
    service_token_attempts_per_ip: int = Field(default=60, ge=1)
    service_token_attempts_per_client: int = Field(default=600, ge=1)
    service_token_window_seconds: int = Field(default=60, ge=1, le=86400)

    # Signing keys: OpenBao/Vault KV v2 when vault_addr is set (required outside
    # development), else a Cassandra table.
    vault_addr: str | None = None
    vault_token: SecretStr | None = None
    vault_role: str | None = Field(default=None, description="Kubernetes auth role")
    vault_kubernetes_mount: str = "kubernetes"
    vault_kubernetes_token_file: Path = KUBERNETES_TOKEN_FILE
    vault_kv_mount: str = "secret"
    vault_keys_path: str = "productstore/auth/signing-keys"
    vault_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # A new key is published this long before it signs, so every verifier's JWKS
    # cache (TTL 300 s) has it before the first token does.
    key_activation_delay_seconds: int = Field(default=330, ge=0, le=86400)
    # How often a replica re-reads the key set (another replica may have rotated).
    key_reload_seconds: float = Field(default=30.0, gt=0, le=3600)

    # JSON: {"orders": {"secret": "...", "audiences": ["inventory", "catalog"]}}
    service_clients: SecretStr | None = None

    # Created at start-up when missing, so a fresh store has an administrator.
    first_admin_email: str | None = None
    first_admin_password: SecretStr | None = None
    first_admin_name: str = Field(default="Administrator", min_length=1, max_length=100)

    @field_validator("vault_addr")
    @classmethod
    def _vault_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("login_max_delay_seconds")
    @classmethod
    def _max_delay(cls, value: float, info: ValidationInfo) -> float:
        first = info.data.get("login_first_delay_seconds")
        if first is not None and value < first:
            raise ValueError(f"must be at least LOGIN_FIRST_DELAY_SECONDS ({first:g})")
        return value

    @field_validator("first_admin_email")
    @classmethod
    def _admin_email(cls, value: str | None) -> str | None:
        return normalise_email(value) if value is not None else None

    @field_validator("service_clients")
    @classmethod
    def _clients(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            return None
        try:
            clients = _CLIENTS.validate_json(value.get_secret_value())
        except ValidationError as exc:
            # Only locations and messages: the input holds secrets.
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or '(document)'}: {error['msg']}"
                for error in exc.errors(include_input=False)
            )
            raise ValueError(
                'must be a JSON object {"<client id>": {"secret": "...", "audiences": '
                f'["<service>", ...]}}: {problems}'
            ) from None
        if info.data.get("environment") != "development":
            weak = sorted(
                client_id
                for client_id, client in clients.items()
                if len(client.secret.get_secret_value()) < MIN_CLIENT_SECRET_LENGTH
            )
            if weak:
                raise ValueError(
                    f"the secret of client(s) {', '.join(weak)} is shorter than "
                    f"{MIN_CLIENT_SECRET_LENGTH} characters"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.environment != "development" and self.vault_addr is None:
            raise ValueError(
                "AUTH_VAULT_ADDR is required outside development: the signing keys live in "
                "Vault (or set AUTH_ENVIRONMENT=development to keep them in Cassandra)"
            )
        if self.vault_addr is not None and self.vault_token is None and self.vault_role is None:
            raise ValueError(
                "AUTH_VAULT_ADDR needs AUTH_VAULT_TOKEN or AUTH_VAULT_ROLE (Kubernetes auth)"
            )
        if (self.first_admin_email is None) != (self.first_admin_password is None):
            raise ValueError(
                "AUTH_FIRST_ADMIN_EMAIL and AUTH_FIRST_ADMIN_PASSWORD go together: set both"
            )
        if self.first_admin_password is not None:
            weak = password_problems(
                self.first_admin_password.get_secret_value(), email=self.first_admin_email
            )
            if weak:
                raise ValueError(f"AUTH_FIRST_ADMIN_PASSWORD is too weak: {'; '.join(weak)}")
        if self.session_lifetime_seconds < self.refresh_token_lifetime_seconds:
            raise ValueError(
                "AUTH_SESSION_LIFETIME_SECONDS must be at least AUTH_REFRESH_TOKEN_LIFETIME_SECONDS"
            )
        return self

    def key_retire_after(self) -> timedelta:
        """How long a signing key stays published after it stopped signing: until every
        token it signed has expired, with the verifiers' leeway and clock skew."""
        longest = max(self.access_token_lifetime_seconds, self.service_token_lifetime_seconds)
        return timedelta(seconds=longest + DEFAULT_LEEWAY_SECONDS) + KEY_CLOCK_SKEW

    def clients(self) -> dict[str, ServiceClient]:
        """The service clients by client id (validated at start)."""
        if self.service_clients is None:
            return {}
        return _CLIENTS.validate_json(self.service_clients.get_secret_value())
