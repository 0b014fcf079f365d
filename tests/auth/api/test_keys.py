"""Signing keys in OpenBao, the JWKS, rotation, and verification by other services.

Other services verify with `productstore_common.auth` against the JWKS over
HTTP, so one test serves this app with uvicorn on a loopback port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from fastapi import Depends, FastAPI
from pydantic import HttpUrl

from devstack.components.openbao import KV_MOUNT, OpenBao
from productstore_auth.app.core.config import AuthSettings
from productstore_auth.app.main import create_app
from productstore_common.auth import (
    AuthConfig,
    CurrentUser,
    JwksClient,
    Principal,
    access_token_claims,
    auth_lifespan,
    require_service,
    sign_access_token,
    verify_access_token,
)
from productstore_common.auth.keys import SigningKey, load_signing_key_pem
from productstore_common.errors import install_problem_handlers
from tests.auth.support import (
    ADMIN_PASSWORD,
    ORDERS_CLIENT,
    ORDERS_SECRET,
    asgi_client,
    assert_problem,
    bearer,
    login,
    new_user,
)

pytestmark = pytest.mark.anyio

JWKS_PATH = "/api/auth/.well-known/jwks.json"


def _stored_keys(openbao: OpenBao, settings: AuthSettings) -> dict[str, Any]:
    secret = openbao.client().secrets.kv.v2.read_secret_version(
        path=settings.vault_keys_path, mount_point=KV_MOUNT, raise_on_deleted_version=True
    )
    return {entry["kid"]: entry for entry in secret["data"]["data"]["keys"]}


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


async def _jwks_kids(client: httpx.AsyncClient) -> list[str]:
    return [key["kid"] for key in (await client.get(JWKS_PATH)).json()["keys"]]


async def test_jwks_publishes_the_key_kept_in_openbao(
    client: httpx.AsyncClient, openbao: OpenBao, auth_settings: AuthSettings
) -> None:
    response = await client.get(JWKS_PATH)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=60"
    keys = response.json()["keys"]
    stored = _stored_keys(openbao, auth_settings)
    assert [key["kid"] for key in keys] == list(stored)
    for key in keys:
        assert set(key) == {"kty", "crv", "x", "y", "use", "alg", "kid"}  # no private "d"
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    _, tokens = await new_user(client)
    assert _kid(tokens["access_token"]) in stored


async def test_a_second_replica_signs_with_the_same_key(
    client: httpx.AsyncClient, auth_settings: AuthSettings
) -> None:
    replica = create_app(auth_settings)
    async with replica.router.lifespan_context(replica), asgi_client(replica) as other:
        assert await _jwks_kids(other) == await _jwks_kids(client)
        _, tokens = await new_user(other)
    # A token from one replica is accepted by the other.
    me = await client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200


async def test_rotation_keeps_the_previous_key_verifiable(
    client: httpx.AsyncClient, admin_token: str, openbao: OpenBao, auth_settings: AuthSettings
) -> None:
    _, before = await new_user(client)
    old_kid = _kid(before["access_token"])

    response = await client.post("/api/auth/keys/rotate", headers=bearer(admin_token))
    assert response.status_code == 200, response.text
    rotation = response.json()
    assert rotation["kid"] != old_kid
    assert set(rotation["published"]) == {old_kid, rotation["kid"]}
    assert set(await _jwks_kids(client)) == {old_kid, rotation["kid"]}
    assert set(_stored_keys(openbao, auth_settings)) == {old_kid, rotation["kid"]}

    # New tokens are signed with the new key (no activation delay in these tests) ...
    _, after = await new_user(client)
    assert _kid(after["access_token"]) == rotation["kid"]
    assert (await client.get("/api/auth/me", headers=bearer(after["access_token"]))).is_success
    # ... and tokens signed before the rotation still verify.
    assert (await client.get("/api/auth/me", headers=bearer(before["access_token"]))).is_success

    # Two rotations later the old key is still published: its tokens are not expired
    # (rotations used to drop it, and with it tokens that were still valid). A fresh
    # replica, with no JWKS cache, still accepts them.
    assert auth_settings.first_admin_email is not None
    admin = await login(client, auth_settings.first_admin_email, ADMIN_PASSWORD)
    for _ in range(2):
        rotated = await client.post("/api/auth/keys/rotate", headers=bearer(admin["access_token"]))
        assert rotated.status_code == 200
    assert old_kid in await _jwks_kids(client)
    replica = create_app(auth_settings)
    async with replica.router.lifespan_context(replica), asgi_client(replica) as other:
        still = await other.get("/api/auth/me", headers=bearer(before["access_token"]))
        assert still.status_code == 200, still.text
    # When those tokens can no longer be valid, the key goes: tests/auth/core/test_keys.py.


# --- tokens that must be refused ------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return ".".join(_b64(json.dumps(part).encode()) for part in (header, claims))


@pytest.fixture
def signing_key(openbao: OpenBao, auth_settings: AuthSettings) -> tuple[str, SigningKey]:
    """The service's current private key, read from OpenBao (only a test may do that)."""
    entries = sorted(_stored_keys(openbao, auth_settings).values(), key=lambda e: e["activates_at"])
    return entries[-1]["kid"], load_signing_key_pem(entries[-1]["private_key_pem"])


def _claims(settings: AuthSettings, subject: str, **overrides: Any) -> dict[str, Any]:
    claims = access_token_claims(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        subject=subject,
        token_type="user",
        roles=["user"],
    )
    claims.update(overrides)
    return claims


async def test_forged_and_invalid_tokens_are_refused(
    client: httpx.AsyncClient, auth_settings: AuthSettings, signing_key: tuple[str, SigningKey]
) -> None:
    user, _ = await new_user(client)
    kid, key = signing_key
    claims = _claims(auth_settings, user["id"])
    # Sanity: the same claims, properly signed, are accepted.
    genuine = sign_access_token(claims, key, kid)
    assert (await client.get("/api/auth/me", headers=bearer(genuine))).status_code == 200

    header = {"alg": "none", "typ": "at+jwt", "kid": kid}
    alg_none = _unsigned(header, claims) + "."
    # HS256 keyed with the public key (the classic algorithm-confusion attack).
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _unsigned({"alg": "HS256", "typ": "at+jwt", "kid": kid}, claims)
    hs256 = (
        signing_input
        + "."
        + _b64(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    )
    expired_at = int(time.time()) - 3600
    cases = {
        "algorithm": [alg_none, hs256],
        "audience": [sign_access_token({**claims, "aud": "somewhere-else"}, key, kid)],
        "expired": [
            sign_access_token({**claims, "exp": expired_at, "iat": expired_at - 900}, key, kid)
        ],
        "issuer": [sign_access_token({**claims, "iss": "https://evil.example"}, key, kid)],
    }
    for reason, tokens in cases.items():
        for token in tokens:
            response = await client.get("/api/auth/me", headers=bearer(token))
            assert_problem(response, 401, reason)
            assert 'error="invalid_token"' in response.headers["www-authenticate"]


# --- verification by another service, over HTTP ----------------------------------------


@pytest.fixture
def served(auth_settings: AuthSettings) -> Iterator[str]:
    """A replica of the service on a loopback port (uvicorn in a thread); its base URL."""
    config = uvicorn.Config(
        create_app(auth_settings), host="127.0.0.1", port=0, log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="auth-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("uvicorn did not start the auth service within 30 s")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _inventory_app(config: AuthConfig) -> FastAPI:
    """A stand-in for another service: it verifies tokens like every service does."""
    app = FastAPI(lifespan=auth_lifespan(config))
    install_problem_handlers(app)

    @app.get("/whoami")
    async def whoami(user: CurrentUser) -> dict[str, str]:
        return {"sub": user.sub}

    @app.post("/internal/reservations")
    async def reserve(
        caller: Annotated[Principal, Depends(require_service())],
    ) -> dict[str, str]:
        return {"caller": caller.sub}

    return app


async def test_other_services_verify_the_tokens_with_the_common_verifier(
    served: str, auth_settings: AuthSettings
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=10) as auth:
        user, tokens = await new_user(auth)
        service = await auth.post(
            "/api/auth/service-token",
            json={
                "client_id": ORDERS_CLIENT,
                "client_secret": ORDERS_SECRET,
                "audience": "inventory",
            },
        )
        service_token = service.json()["access_token"]

    # The verifier as a library call ...
    async with JwksClient(served + JWKS_PATH) as jwks:
        principal = await verify_access_token(
            tokens["access_token"],
            jwks=jwks,
            issuer=auth_settings.jwt_issuer,
            audience=auth_settings.jwt_audience,
        )
    assert principal.sub == user["id"]
    assert principal.roles == frozenset({"user"})
    assert principal.exp - _issued_at(tokens["access_token"]) == timedelta(
        seconds=auth_settings.access_token_lifetime_seconds
    )

    # ... and as the dependencies of a service named "inventory".
    config = AuthConfig(
        issuer=auth_settings.jwt_issuer,
        audience=auth_settings.jwt_audience,
        service_audience="inventory",
        jwks_url=HttpUrl(served + JWKS_PATH),
    )
    inventory = _inventory_app(config)
    async with (
        inventory.router.lifespan_context(inventory),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=inventory), base_url="http://inventory.test"
        ) as client,
    ):
        whoami = await client.get("/whoami", headers=bearer(tokens["access_token"]))
        assert whoami.json() == {"sub": user["id"]}
        reserved = await client.post("/internal/reservations", headers=bearer(service_token))
        assert reserved.json() == {"caller": ORDERS_CLIENT}
        # A user token is no service token.
        refused = await client.post(
            "/internal/reservations", headers=bearer(tokens["access_token"])
        )
        assert_problem(refused, 403, "service_token_required")


def _issued_at(token: str) -> datetime:
    iat = jwt.decode(token, options={"verify_signature": False})["iat"]
    return datetime.fromtimestamp(iat, UTC)
