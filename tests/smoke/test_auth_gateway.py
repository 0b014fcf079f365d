"""The auth service from devstack, through the nginx gateway: keys, register, login, me."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from devstack.components.nginx import Nginx
from devstack.components.services import AuthService

PASSWORD = "a long smoke-test passphrase"


@pytest.fixture
def gateway(auth_service: AuthService, nginx: Nginx) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{nginx.url}/api/auth", timeout=15) as client:
        yield client


def test_jwks_through_the_gateway(gateway: httpx.Client) -> None:
    response = gateway.get("/.well-known/jwks.json")
    assert response.status_code == 200, response.text
    keys = response.json()["keys"]
    assert keys
    assert any(k["kty"] == "EC" and k["crv"] == "P-256" and k.get("alg") == "ES256" for k in keys)
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_register_login_me_through_the_gateway(gateway: httpx.Client) -> None:
    email = f"smoke-{uuid.uuid4().hex[:12]}@example.com"
    registered = gateway.post(
        "/register", json={"email": email, "name": "Smoke Test", "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["email"] == email

    login = gateway.post("/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert tokens["token_type"].lower() == "bearer"

    me = gateway.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email
    # Exactly one request id: the gateway's, which the service also used.
    assert len(me.headers.get_list("x-request-id")) == 1


def test_me_without_a_token_is_a_401_problem(gateway: httpx.Client) -> None:
    response = gateway.get("/me")
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 401
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
