"""The auth service's app: `create_app()` (a factory, `uvicorn --factory ...:create_app`)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from productstore_auth import __version__
from productstore_auth.app.api.routes import (
    accounts,
    internal,
    keys,
    service_tokens,
    sessions,
    users,
)
from productstore_auth.app.core.config import AuthSettings
from productstore_auth.app.data import migrations_dir
from productstore_auth.app.data.key_store import key_store
from productstore_auth.app.data.login_attempts import AccountDelays, LoginAttempts
from productstore_auth.app.data.refresh_tokens import RefreshTokenStore
from productstore_auth.app.data.users import UserStore
from productstore_auth.app.services.accounts import Accounts, LoginLimits
from productstore_auth.app.services.keyring import KeyRing
from productstore_auth.app.services.limits import RequestLimits
from productstore_auth.app.services.passwords import Passwords
from productstore_auth.app.services.service_clients import ServiceClients
from productstore_auth.app.services.sessions import Sessions
from productstore_auth.app.services.tokens import AccessTokens
from productstore_auth.app.services.verification import local_authenticator
from productstore_common.auth import RoleEpochs
from productstore_common.cassandra import CassandraSession
from productstore_common.kit import Redis, ServiceKit, service_app
from productstore_common.ratelimit import RateLimiter
from productstore_common.telemetry.metrics import AppMetrics
from productstore_contracts.services import AUTH

DESCRIPTION = """\
Accounts, logins and the keys that sign Product Store's access tokens.

Access tokens are ES256 JWTs (`typ: at+jwt`) that every service verifies with
the public keys at `/api/auth/.well-known/jwks.json`. Refresh tokens are
opaque and single-use. Errors are `application/problem+json` with a stable
`reason`.
"""

OPENAPI_TAGS = [
    {"name": "accounts", "description": "Registration and the caller's account"},
    {"name": "sessions", "description": "Login, refresh, logout"},
    {"name": "users", "description": "User administration (admin role)"},
    {"name": "keys", "description": "Public signing keys and their rotation"},
    {"name": "service tokens", "description": "Client credentials for service-to-service calls"},
    {"name": "internal", "description": "Reads for other services (service tokens only)"},
]


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    """The auth app; settings from the environment (`AUTH_*`) unless given."""
    return service_app(
        AUTH,
        settings or AuthSettings(),
        version=__version__,
        description=DESCRIPTION,
        routers=[
            accounts.router,
            sessions.router,
            users.router,
            keys.router,
            service_tokens.router,
            internal.router,
        ],
        setup=setup,
        migrations=migrations_dir(),
        openapi_tags=OPENAPI_TAGS,
    )


async def setup(kit: ServiceKit[AuthSettings]) -> None:
    """auth's objects: its key ring, accounts, sessions, and a verifier of its own tokens."""
    settings = kit.settings
    db = await kit.cassandra()
    redis = kit.redis()
    store = key_store(settings, db)
    kit.on_stop(store.close)
    keyring = KeyRing(
        store,
        activation_delay=timedelta(seconds=settings.key_activation_delay_seconds),
        reload_interval=settings.key_reload_seconds,
        retire_after=settings.key_retire_after(),
    )
    await keyring.start()
    kit.provide(keyring)

    # Written on demote and disable, read by every service's role checks.
    epochs = RoleEpochs(redis, issuer=settings.jwt_issuer)
    accounts, sessions, tokens = _accounts(
        kit.metrics, settings, db, redis, keyring=keyring, epochs=epochs
    )
    kit.provide(accounts)
    kit.provide(sessions)
    kit.provide(ServiceClients(settings.clients(), tokens))
    kit.provide(
        RequestLimits.of(
            RateLimiter(redis, prefix=settings.redis_key_prefix, metrics=kit.metrics),
            register=(settings.register_attempts_per_ip, settings.register_window_seconds),
            service_token_per_ip=(
                settings.service_token_attempts_per_ip,
                settings.service_token_window_seconds,
            ),
            service_token_per_client=(
                settings.service_token_attempts_per_client,
                settings.service_token_window_seconds,
            ),
        )
    )
    # auth verifies its own tokens from its key ring, not over HTTP.
    authenticator = await local_authenticator(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        service_audience=settings.service_name,
        keyring=keyring,
        epochs=epochs,
    )
    kit.app.state.auth = authenticator
    kit.on_stop(authenticator.aclose)
    kit.readiness.add("signing_keys", keyring.ready)

    if settings.first_admin_email and settings.first_admin_password:
        await accounts.ensure_admin(
            email=settings.first_admin_email,
            name=settings.first_admin_name,
            password=settings.first_admin_password.get_secret_value(),
        )


def _accounts(
    metrics: AppMetrics,
    settings: AuthSettings,
    db: CassandraSession,
    redis: Redis,
    *,
    keyring: KeyRing,
    epochs: RoleEpochs,
) -> tuple[Accounts, Sessions, AccessTokens]:
    logins = metrics.counter(
        "auth_logins_total",
        "Login attempts by outcome (success or the problem's reason).",
        ("outcome",),
    )
    reuse = metrics.counter(
        "auth_refresh_token_reuse_total",
        "Refresh tokens presented again after use; each revoked a session.",
    )
    passwords = Passwords(
        time_cost=settings.password_hash_time_cost,
        memory_kib=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
        concurrency=settings.password_hash_concurrency,
    )
    attempts = LoginAttempts(
        redis,
        prefix=settings.redis_key_prefix,
        window_seconds=settings.login_window_seconds,
        delays=AccountDelays(
            free_failures=settings.login_attempts_per_account,
            first_delay=settings.login_first_delay_seconds,
            max_delay=settings.login_max_delay_seconds,
        ),
    )
    accounts = Accounts(
        UserStore(db, settings.cassandra_keyspace),
        passwords,
        attempts,
        LoginLimits(per_ip=settings.login_attempts_per_ip),
        epochs=epochs,
        token_lifetime=settings.key_retire_after(),
        on_login=lambda outcome: logins.labels(outcome).inc(),
    )
    tokens = AccessTokens(
        keyring,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        user_lifetime=timedelta(seconds=settings.access_token_lifetime_seconds),
        service_lifetime=timedelta(seconds=settings.service_token_lifetime_seconds),
    )
    sessions = Sessions(
        RefreshTokenStore(db, settings.cassandra_keyspace),
        accounts,
        tokens,
        refresh_lifetime=timedelta(seconds=settings.refresh_token_lifetime_seconds),
        session_lifetime=timedelta(seconds=settings.session_lifetime_seconds),
        on_reuse=reuse.inc,
    )
    return accounts, sessions, tokens
