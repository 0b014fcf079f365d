"""Access-token authentication: ES256 JWTs from the auth service, verified with its JWKS.

`keys` (ES256 keys and JWKs), `jwks` (the cached JWKS client), `tokens`
(verify and sign access tokens), `revocation` (role epochs in the shared Redis),
`deps` (FastAPI dependencies).
"""

from productstore_common.auth.deps import (
    AdminUser,
    AuthConfig,
    Authenticator,
    CurrentPrincipal,
    CurrentUser,
    ForbiddenError,
    OptionalPrincipal,
    auth_lifespan,
    install_auth,
    require_role,
    require_service,
)
from productstore_common.auth.jwks import JwksClient, JwksUnavailableError
from productstore_common.auth.revocation import RoleEpochs, RoleEpochsUnavailableError
from productstore_common.auth.tokens import (
    AuthUnavailableError,
    InvalidTokenError,
    Principal,
    Role,
    TokenType,
    access_token_claims,
    sign_access_token,
    verify_access_token,
)

__all__ = [
    "AdminUser",
    "AuthConfig",
    "AuthUnavailableError",
    "Authenticator",
    "CurrentPrincipal",
    "CurrentUser",
    "ForbiddenError",
    "InvalidTokenError",
    "JwksClient",
    "JwksUnavailableError",
    "OptionalPrincipal",
    "Principal",
    "Role",
    "RoleEpochs",
    "RoleEpochsUnavailableError",
    "TokenType",
    "access_token_claims",
    "auth_lifespan",
    "install_auth",
    "require_role",
    "require_service",
    "sign_access_token",
    "verify_access_token",
]
