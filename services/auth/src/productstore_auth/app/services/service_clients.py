"""Service-to-service tokens: OAuth2 client credentials, one audience per token."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from productstore_auth.app.core import errors
from productstore_auth.app.core.config import ServiceClient
from productstore_auth.app.services.tokens import AccessTokens


@dataclass(frozen=True)
class ServiceToken:
    access_token: str
    expires_in: int
    audience: str


class ServiceClients:
    def __init__(self, clients: Mapping[str, ServiceClient], tokens: AccessTokens) -> None:
        self.clients = dict(clients)
        self.tokens = tokens

    async def issue(self, *, client_id: str, client_secret: str, audience: str) -> ServiceToken:
        """A token for `audience`: 401 for bad credentials, 403 outside the client's allow-list."""
        client = self.clients.get(client_id)
        # Compared even for an unknown client, so the answer time does not say which ids exist.
        expected = client.secret.get_secret_value() if client else "\0" * 32
        if not hmac.compare_digest(expected.encode(), client_secret.encode()) or client is None:
            raise errors.invalid_client()
        if audience not in client.audiences:
            raise errors.audience_not_allowed(client_id, audience)
        return ServiceToken(
            access_token=await self.tokens.for_service(client_id, audience),
            expires_in=int(self.tokens.service_lifetime.total_seconds()),
            audience=audience,
        )
