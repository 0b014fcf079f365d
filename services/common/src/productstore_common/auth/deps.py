"""FastAPI dependencies that authenticate a request's bearer token and authorize it.

Wire once per app, `create_app(..., lifespans=[auth_lifespan(config)])` (or
`install_auth` at startup and `aclose()` at shutdown). Routes then take typed
parameters:

    @router.get("/me")
    async def me(principal: CurrentUser) -> ...

    @router.delete("/{id}")
    async def delete(admin: AdminUser) -> ...

    @router.post("/internal/reservations")   # this service's own audience by default
    async def reserve(caller: Annotated[Principal, Depends(require_service())]) -> ...

No credentials or bad credentials answer 401, valid credentials without the
needed role or token type answer 403 (both problem+json, with a Bearer
challenge). A bad token is 401 even where a token is optional: a client that
believes it is logged in must learn that it is not.

Role checks (`require_role`, `AdminUser`) also ask the shared Redis whether the
user's account changed after the token was issued (`revocation`: a demoted or
disabled administrator loses admin power within seconds, not at token expiry).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, get_args

from fastapi import Depends, FastAPI, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from productstore_common.auth.jwks import JwksClient
from productstore_common.auth.revocation import DEFAULT_CACHE_SECONDS, RoleEpochs
from productstore_common.auth.tokens import (
    DEFAULT_LEEWAY_SECONDS,
    InvalidTokenError,
    Principal,
    Role,
    bearer_challenge,
    verify_access_token,
)
from productstore_common.errors import Problem
from productstore_common.settings import ServiceSettings, SettingsError

# The auth service's OAuth2 password form, by its public path under the gateway:
# each service's Swagger UI "Authorize" button logs in there.
TOKEN_URL = "/api/auth/token"  # noqa: S105 - a URL path, not a password


class AuthConfig(BaseModel):
    """How this service verifies access tokens."""

    model_config = ConfigDict(frozen=True)

    issuer: str = Field(min_length=1, description="The `iss` the auth service signs with")
    audience: str = Field(
        min_length=1, description="The `aud` of user tokens: the store's public API"
    )
    service_audience: str | None = Field(
        default=None,
        min_length=1,
        description="This service's own name: the `aud` of service tokens for calls to it",
    )
    jwks_url: HttpUrl = Field(description="The auth service's JWKS document")
    leeway_seconds: float = Field(default=DEFAULT_LEEWAY_SECONDS, ge=0, le=300)
    jwks_ttl_seconds: float = Field(default=300.0, gt=0)
    jwks_min_refresh_seconds: float = Field(default=10.0, ge=0)
    jwks_max_stale_seconds: float = Field(default=3600.0, ge=0)
    jwks_timeout_seconds: float = Field(default=2.0, gt=0)
    roles_redis_url: str | None = Field(
        default=None,
        description="The shared Redis of the role epochs (revocation); None: role checks "
        "trust the token's roles until it expires",
    )
    role_epoch_cache_seconds: float = Field(default=DEFAULT_CACHE_SECONDS, ge=0, le=60)

    @classmethod
    def from_settings(cls, settings: ServiceSettings, *, role_epochs: bool = True) -> AuthConfig:
        """The config from the service's `JWT_*` settings; the JWKS URL is required. Role
        checks read the role epochs in the service's Redis unless `role_epochs` is False
        (a service without Redis)."""
        if settings.jwt_jwks_url is None:
            prefix = str(settings.model_config.get("env_prefix", "")).upper()
            raise SettingsError(
                settings.service_name,
                [(f"{prefix}JWT_JWKS_URL", "is required to verify access tokens but not set")],
            )
        return cls(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            service_audience=settings.service_name,
            jwks_url=HttpUrl(settings.jwt_jwks_url),
            roles_redis_url=settings.redis_url if role_epochs else None,
        )


class Authenticator:
    """An AuthConfig with its JWKS client and role epochs: what the dependencies use
    per request. `epochs` replaces the ones the config's Redis URL would make."""

    def __init__(self, config: AuthConfig, *, epochs: RoleEpochs | None = None) -> None:
        self.config = config
        if epochs is None and config.roles_redis_url is not None:
            epochs = RoleEpochs.from_url(
                config.roles_redis_url,
                issuer=config.issuer,
                cache_seconds=config.role_epoch_cache_seconds,
            )
        self.epochs = epochs
        self.jwks = JwksClient(
            str(config.jwks_url),
            ttl=config.jwks_ttl_seconds,
            min_refresh_interval=config.jwks_min_refresh_seconds,
            max_stale=config.jwks_max_stale_seconds,
            timeout=config.jwks_timeout_seconds,
        )

    async def authenticate(self, token: str, *, also_accept: str | None = None) -> Principal:
        """The Principal of `token`, which must be for the store's audience, this
        service's own audience, or `also_accept`."""
        audiences = {self.config.audience}
        for extra in (self.config.service_audience, also_accept):
            if extra is not None:
                audiences.add(extra)
        return await verify_access_token(
            token,
            jwks=self.jwks,
            issuer=self.config.issuer,
            audience=audiences,
            leeway=self.config.leeway_seconds,
        )

    async def roles_current(self, principal: Principal) -> bool:
        """Whether `principal`'s roles still count: no change of its user's account since
        the token was issued (always, for services and without role epochs)."""
        if self.epochs is None or principal.token_type != "user" or principal.iat is None:  # noqa: S105
            return True
        return await self.epochs.current(principal.sub, principal.iat)

    async def aclose(self) -> None:
        await self.jwks.aclose()
        if self.epochs is not None:
            await self.epochs.aclose()


def install_auth(app: FastAPI, config: AuthConfig) -> Authenticator:
    """Make the auth dependencies work in `app`; close the result at shutdown."""
    authenticator = Authenticator(config)
    app.state.auth = authenticator
    return authenticator


def auth_lifespan(
    config: AuthConfig,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """`install_auth` as a lifespan hook (`create_app(..., lifespans=[auth_lifespan(c)])`),
    so the JWKS client is created in the serving event loop and closed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        authenticator = install_auth(app, config)
        try:
            # Nothing yielded: Starlette would take a value for lifespan state.
            yield
        finally:
            await authenticator.aclose()

    return lifespan


def get_authenticator(request: Request) -> Authenticator:
    authenticator = getattr(request.app.state, "auth", None)
    if isinstance(authenticator, Authenticator):
        return authenticator
    # A wiring bug, not a client error: surfaces as a logged 500.
    raise RuntimeError("auth dependencies used before install_auth(app, config)")


class ForbiddenError(Problem):
    """403: the caller is authenticated but not allowed to do this."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(
            403,
            "Forbidden",
            detail,
            headers={"WWW-Authenticate": bearer_challenge("insufficient_scope", detail)},
            extra={"reason": reason},
        )


_oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL,
    auto_error=False,
    description="An ES256 access token from the auth service (`Authorization: Bearer ...`).",
)


async def _bearer_token(
    request: Request, token: Annotated[str | None, Depends(_oauth2_scheme)]
) -> str | None:
    """The bearer token, None without an Authorization header, 401 for another scheme."""
    if token:
        return token
    if request.headers.get("Authorization") is None:
        return None
    # RFC 6750 §3.1: an unsupported scheme gets a bare challenge, no error code.
    raise InvalidTokenError(
        "invalid_scheme",
        "The Authorization header must be 'Bearer <access token>'.",
        error=None,
    )


def _missing_token() -> InvalidTokenError:
    return InvalidTokenError(
        "missing_token",
        "This endpoint requires an access token: send 'Authorization: Bearer <access token>'.",
        error=None,
    )


async def _optional_principal(
    request: Request, token: Annotated[str | None, Depends(_bearer_token)]
) -> Principal | None:
    if token is None:
        return None
    return await get_authenticator(request).authenticate(token)


async def _current_principal(
    principal: Annotated[Principal | None, Depends(_optional_principal)],
) -> Principal:
    if principal is None:
        raise _missing_token()
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(_optional_principal)]
"""The caller if a token was sent (public endpoints that personalise), else None."""

CurrentPrincipal = Annotated[Principal, Depends(_current_principal)]
"""The caller: a user, or a service with a token for this service's audience."""


async def _current_user(principal: CurrentPrincipal) -> Principal:
    if principal.token_type != "user":  # noqa: S105 - a token kind
        raise ForbiddenError("user_token_required", "This endpoint is for users, not services.")
    return principal


CurrentUser = Annotated[Principal, Depends(_current_user)]
"""The calling user (service tokens get 403)."""


def require_role(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that yields the caller if it holds `role` (admins hold `user` too)."""
    if role not in get_args(Role):
        raise ValueError(f"unknown role {role!r}; roles are {get_args(Role)}")

    async def has_role(request: Request, principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(role):
            raise ForbiddenError("missing_role", f"This operation requires the '{role}' role.")
        if not await get_authenticator(request).roles_current(principal):
            raise InvalidTokenError(
                "token_revoked",
                "The account's roles or status changed after this token was issued; "
                "refresh it or log in again.",
            )
        return principal

    return has_role


AdminUser = Annotated[Principal, Depends(require_role("admin"))]
"""The caller, who must hold the admin role."""


def require_service(audience: str | None = None) -> Callable[..., Awaitable[Principal]]:
    """A dependency that yields the calling service if its token is a service token
    issued for `audience` (by default AuthConfig.service_audience, this service)."""
    if audience == "":
        raise ValueError("require_service needs a non-empty audience")

    async def is_service(
        request: Request, token: Annotated[str | None, Depends(_bearer_token)]
    ) -> Principal:
        if token is None:
            raise _missing_token()
        authenticator = get_authenticator(request)
        expected = audience or authenticator.config.service_audience
        if expected is None:
            raise RuntimeError("require_service() without an audience needs service_audience")
        # A user token for the store's audience verifies too, so that it gets an
        # honest 403 below rather than a misleading "wrong audience" 401.
        principal = await authenticator.authenticate(token, also_accept=expected)
        is_service_token = principal.token_type == "service"  # noqa: S105 - a token kind
        if not is_service_token or expected not in principal.aud:
            raise ForbiddenError(
                "service_token_required",
                f"This endpoint is for services holding a token for audience '{expected}'.",
            )
        return principal

    return is_service
