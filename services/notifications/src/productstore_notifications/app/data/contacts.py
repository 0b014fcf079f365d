"""Where a user's e-mail goes: asked of the auth service with a service token (ADR 0027).

The token (client credentials, audience `auth`) is kept until shortly before it
expires; a 401 drops it and asks once more. Addresses are not stored here: auth is
the one place they live, so a changed address is used from the next message on.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import httpx

# A token is renewed this long before auth says it expires.
_TOKEN_MARGIN_SECONDS = 30.0


class ContactsUnavailableError(Exception):
    """Auth could not be asked (down, refused our credentials): retry the message later."""


@dataclass(frozen=True)
class Contact:
    email: str
    name: str


class AuthContacts:
    def __init__(
        self, auth_url: str, *, client_id: str, client_secret: str | None, timeout: float
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self._http = httpx.AsyncClient(base_url=auth_url.rstrip("/"), timeout=timeout)
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    async def contact(self, user_id: uuid.UUID) -> Contact | None:
        """The user's address and name; None when auth has no such user or it is disabled."""
        for _ in range(2):
            token = await self._service_token()
            try:
                response = await self._http.get(
                    f"/api/auth/internal/users/{user_id}/contact",
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.HTTPError as exc:
                raise ContactsUnavailableError(f"auth did not answer: {exc}") from exc
            if response.status_code == 401:
                self._token = None  # expired or rotated: one more try with a new one
                continue
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise ContactsUnavailableError(
                    f"auth answered {response.status_code} to the contact lookup"
                )
            body = response.json()
            if body.get("disabled"):
                return None
            return Contact(email=str(body["email"]), name=str(body["name"]))
        raise ContactsUnavailableError("auth refused a fresh service token")

    async def _service_token(self) -> str:
        async with self._lock:
            if self._token is not None and time.monotonic() < self._token_expires:
                return self._token
            if self.client_secret is None:
                raise ContactsUnavailableError(
                    "no NOTIFICATIONS_AUTH_CLIENT_SECRET: e-mail addresses cannot be asked for"
                )
            try:
                response = await self._http.post(
                    "/api/auth/service-token",
                    json={
                        "client_id": self.client_id,
                        "client_secret": self.client_secret,
                        "audience": "auth",
                    },
                )
            except httpx.HTTPError as exc:
                raise ContactsUnavailableError(f"auth did not answer: {exc}") from exc
            if response.status_code != 200:
                raise ContactsUnavailableError(
                    f"auth refused a service token ({response.status_code}): check "
                    "NOTIFICATIONS_AUTH_CLIENT_ID/SECRET against AUTH_SERVICE_CLIENTS"
                )
            body = response.json()
            self._token = str(body["access_token"])
            self._token_expires = (
                time.monotonic() + float(body["expires_in"]) - _TOKEN_MARGIN_SECONDS
            )
            return self._token
