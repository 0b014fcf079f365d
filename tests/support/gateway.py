"""Logging in through the gateway as devstack's administrator."""

from __future__ import annotations

import httpx

from devstack.components.services import ADMIN_EMAIL, AuthService


def admin_token(auth: AuthService, gateway_url: str) -> str:
    """An access token of the administrator the auth component creates (roles admin, user)."""
    password = auth.admin_password_file.read_text().strip()
    response = httpx.post(
        f"{gateway_url}/api/auth/login",
        json={"email": ADMIN_EMAIL, "password": password},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token
