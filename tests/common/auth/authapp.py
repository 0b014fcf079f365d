"""A small app with one route per auth dependency, for the dependency tests."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI

from productstore_common.auth import (
    AdminUser,
    AuthConfig,
    CurrentPrincipal,
    CurrentUser,
    OptionalPrincipal,
    Principal,
    auth_lifespan,
    require_role,
    require_service,
)
from productstore_common.errors import install_problem_handlers

# This app's own name, the audience of service tokens for it (AuthConfig.service_audience).
SERVICE_AUDIENCE = "catalog"


def _public(principal: Principal | None) -> dict[str, Any]:
    if principal is None:
        return {"sub": None}
    return {
        "sub": principal.sub,
        "token_type": principal.token_type,
        "roles": sorted(principal.roles),
        "scopes": sorted(principal.scopes),
        "aud": list(principal.aud),
    }


def build_app(config: AuthConfig) -> FastAPI:
    app = FastAPI(lifespan=auth_lifespan(config))
    install_problem_handlers(app)

    @app.get("/public")
    async def public(principal: OptionalPrincipal) -> dict[str, Any]:
        return _public(principal)

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        return _public(principal)

    @app.get("/user")
    async def user(principal: CurrentUser) -> dict[str, Any]:
        return _public(principal)

    @app.get("/user-role")
    async def user_role(
        principal: Annotated[Principal, Depends(require_role("user"))],
    ) -> dict[str, Any]:
        return _public(principal)

    @app.get("/admin")
    async def admin(principal: AdminUser) -> dict[str, Any]:
        return _public(principal)

    @app.get("/internal")
    async def internal(
        principal: Annotated[Principal, Depends(require_service())],
    ) -> dict[str, Any]:
        return _public(principal)

    return app
