"""The auth dependencies on a small app: who gets 200, 401 or 403 where."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import HttpUrl

from productstore_common.auth import AuthConfig, CurrentPrincipal, require_role
from productstore_common.errors import install_problem_handlers
from productstore_common.settings import ServiceSettings, SettingsError
from tests.common.auth.authapp import SERVICE_AUDIENCE, build_app
from tests.common.auth.conftest import Mint
from tests.common.auth.support import AUDIENCE, ISSUER, JwksServer

ENDPOINTS = ("/public", "/me", "/user", "/user-role", "/admin", "/internal")

# caller -> expected status per endpoint, in ENDPOINTS order
MATRIX: dict[str, tuple[int, ...]] = {
    "anonymous": (200, 401, 401, 401, 401, 401),
    "user": (200, 200, 200, 200, 403, 403),
    "admin": (200, 200, 200, 200, 200, 403),
    "service-for-this-service": (200, 200, 403, 403, 403, 200),
    "service-for-the-store-audience": (200, 200, 403, 403, 403, 403),
    "service-for-another-service": (401, 401, 401, 401, 401, 401),
    "garbage-token": (401, 401, 401, 401, 401, 401),
}


def _authorization(caller: str, mint: Mint) -> dict[str, str]:
    tokens = {
        "anonymous": None,
        "user": mint(roles=["user"]),
        "admin": mint(roles=["admin"]),
        "service-for-this-service": mint(
            token_type="service", roles=[], subject="orders", audience=SERVICE_AUDIENCE
        ),
        "service-for-the-store-audience": mint(token_type="service", roles=[], subject="orders"),
        "service-for-another-service": mint(
            token_type="service", roles=[], subject="orders", audience="inventory"
        ),
        "garbage-token": "garbage",
    }
    token = tokens[caller]
    return {} if token is None else {"Authorization": f"Bearer {token}"}


@pytest.fixture
def service_client(auth_config: AuthConfig) -> Iterator[TestClient]:
    config = auth_config.model_copy(update={"service_audience": SERVICE_AUDIENCE})
    with TestClient(build_app(config)) as client:
        yield client


@pytest.mark.parametrize("caller", MATRIX)
def test_authorization_matrix(service_client: TestClient, mint: Mint, caller: str) -> None:
    headers = _authorization(caller, mint)
    for endpoint, expected in zip(ENDPOINTS, MATRIX[caller], strict=True):
        response = service_client.get(endpoint, headers=headers)
        assert response.status_code == expected, (endpoint, response.text)
        if expected != 200:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith('Bearer realm="productstore"')


def test_forbidden_names_what_is_missing(service_client: TestClient, mint: Mint) -> None:
    user = {"Authorization": f"Bearer {mint(roles=['user'])}"}
    service = {
        "Authorization": f"Bearer {mint(token_type='service', roles=[], audience='catalog')}"
    }

    admin_only = service_client.get("/admin", headers=user).json()
    services_only = service_client.get("/internal", headers=user).json()
    users_only = service_client.get("/user", headers=service).json()

    assert admin_only["reason"] == "missing_role"
    assert admin_only["detail"] == "This operation requires the 'admin' role."
    assert services_only["reason"] == "service_token_required"
    assert "audience 'catalog'" in services_only["detail"]
    assert users_only["reason"] == "user_token_required"
    challenge = service_client.get("/admin", headers=user).headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge


def test_optional_principal_personalises_when_logged_in(client: TestClient, mint: Mint) -> None:
    anonymous = client.get("/public").json()
    logged_in = client.get("/public", headers={"Authorization": f"Bearer {mint(subject='ann')}"})

    assert anonymous == {"sub": None}
    assert logged_in.json()["sub"] == "ann"


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        pytest.param(None, "missing_token", id="no-header"),
        pytest.param("Basic dXNlcjpwYXNz", "invalid_scheme", id="basic"),
        pytest.param("Bearer", "invalid_scheme", id="bearer-without-token"),
        pytest.param("Token abc", "invalid_scheme", id="other-scheme"),
    ],
)
def test_missing_or_non_bearer_credentials_get_a_bare_challenge(
    client: TestClient, authorization: str | None, reason: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = client.get("/me", headers=headers)

    assert response.status_code == 401
    assert response.json()["reason"] == reason
    assert "Bearer <access token>" in response.json()["detail"]
    # RFC 6750 §3.1: no error code when no bearer credentials were presented.
    assert response.headers["www-authenticate"] == 'Bearer realm="productstore"'


def test_bearer_scheme_is_case_insensitive(client: TestClient, mint: Mint) -> None:
    response = client.get("/me", headers={"Authorization": f"bearer {mint(subject='lower')}"})
    assert response.json()["sub"] == "lower"


def test_unreachable_auth_service_is_503_for_tokens_only(
    jwks_server: JwksServer, auth_config: AuthConfig, mint: Mint
) -> None:
    jwks_server.stop()
    with TestClient(build_app(auth_config)) as client:
        with_token = client.get("/me", headers={"Authorization": f"Bearer {mint()}"})
        anonymous = client.get("/public")

    assert with_token.status_code == 503
    assert with_token.headers["content-type"] == "application/problem+json"
    assert with_token.json()["reason"] == "keys_unavailable"
    assert int(with_token.headers["retry-after"]) >= 1
    assert anonymous.status_code == 200


def test_openapi_documents_the_bearer_scheme(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    [(name, scheme)] = schemes.items()
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/auth/token"
    assert document["paths"]["/admin"]["get"]["security"] == [{name: []}]


def test_dependencies_without_install_auth_are_a_500_not_a_pass(mint: Mint) -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> str:
        return principal.sub

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/me", headers={"Authorization": f"Bearer {mint()}"})

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"


def test_require_role_refuses_unknown_roles() -> None:
    with pytest.raises(ValueError, match="unknown role 'superuser'"):
        require_role("superuser")  # type: ignore[arg-type]


def test_config_from_settings(jwks_server: JwksServer) -> None:
    settings = ServiceSettings(
        environment="test",
        service_name="catalog",
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        jwt_jwks_url=jwks_server.url,
        redis_url="redis://redis.example:6379/2",
    )

    config = AuthConfig.from_settings(settings)

    assert config == AuthConfig(
        issuer=ISSUER,
        audience=AUDIENCE,
        service_audience="catalog",
        jwks_url=HttpUrl(jwks_server.url),
        # Role checks read the role epochs in the service's Redis.
        roles_redis_url="redis://redis.example:6379/2",
    )
    # A service without Redis (its descriptor needs none) has no role epochs to read.
    assert AuthConfig.from_settings(settings, role_epochs=False).roles_redis_url is None


def test_config_from_settings_requires_the_jwks_url() -> None:
    settings = ServiceSettings(environment="test", service_name="catalog", jwt_jwks_url=None)
    with pytest.raises(SettingsError, match="PRODUCTSTORE_JWT_JWKS_URL"):
        AuthConfig.from_settings(settings)
