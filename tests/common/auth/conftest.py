from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import HttpUrl

from productstore_common.auth import AuthConfig, access_token_claims, sign_access_token
from productstore_common.auth.keys import SigningKey, generate_signing_key, jwk_thumbprint
from productstore_common.auth.tokens import Role, TokenType
from tests.common.auth.authapp import build_app
from tests.common.auth.support import AUDIENCE, ISSUER, JwksServer

Mint = Callable[..., str]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def signing_key() -> SigningKey:
    return generate_signing_key()


@pytest.fixture
def kid(signing_key: SigningKey) -> str:
    return jwk_thumbprint(signing_key)


@pytest.fixture
def jwks_server(signing_key: SigningKey, kid: str) -> Iterator[JwksServer]:
    server = JwksServer()
    server.publish({kid: signing_key})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def auth_config(jwks_server: JwksServer) -> AuthConfig:
    return AuthConfig(issuer=ISSUER, audience=AUDIENCE, jwks_url=HttpUrl(jwks_server.url))


@pytest.fixture
def client(auth_config: AuthConfig) -> Iterator[TestClient]:
    with TestClient(build_app(auth_config)) as test_client:
        yield test_client


@pytest.fixture
def mint(signing_key: SigningKey, kid: str) -> Mint:
    """Sign a valid access token; keyword overrides replace claims, `drop` removes them."""

    def mint(
        *,
        token_type: TokenType = "user",  # noqa: S107 - a token kind, not a password
        roles: Iterable[Role] = ("user",),
        audience: str = AUDIENCE,
        subject: str = "user-1",
        drop: Iterable[str] = (),
        key: SigningKey | None = None,
        key_id: str | None = None,
        **overrides: Any,
    ) -> str:
        claims = access_token_claims(
            issuer=ISSUER,
            audience=audience,
            subject=subject,
            token_type=token_type,
            roles=roles,
        )
        claims.update(overrides)
        for name in drop:
            del claims[name]
        return sign_access_token(claims, key or signing_key, key_id or kid)

    return mint
