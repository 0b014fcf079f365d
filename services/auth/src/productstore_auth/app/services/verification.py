"""Access-token verification inside the auth service itself.

The auth service checks tokens with the same code as every other service
(`productstore_common.auth`), but reads its JWKS from its own key ring rather
than over HTTP from itself: the JwksClient gets an httpx transport that
answers every request with the key ring's current JWKS.
"""

from __future__ import annotations

import json

import httpx
from pydantic import HttpUrl

from productstore_auth.app.services.keyring import KeyRing
from productstore_common.auth import AuthConfig, Authenticator, JwksClient, RoleEpochs

# Only the transport below ever sees this URL; no request leaves the process.
LOCAL_JWKS_URL = "http://auth.local/api/auth/.well-known/jwks.json"


class KeyRingTransport(httpx.AsyncBaseTransport):
    """Serves the key ring's JWKS to an httpx client, whatever the request."""

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.dumps(await self.keyring.jwks()).encode()
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


async def local_authenticator(
    *, issuer: str, audience: str, service_audience: str, keyring: KeyRing, epochs: RoleEpochs
) -> Authenticator:
    """An Authenticator whose keys come from `keyring`, checking roles against `epochs`
    (the ones this service writes)."""
    config = AuthConfig(
        issuer=issuer,
        audience=audience,
        service_audience=service_audience,
        jwks_url=HttpUrl(LOCAL_JWKS_URL),
        # The key ring caches and reloads already; asking it is cheap, so an
        # unknown kid (a rotation just now) is looked up again at once.
        jwks_ttl_seconds=keyring.reload_interval,
        jwks_min_refresh_seconds=0.0,
    )
    authenticator = Authenticator(config, epochs=epochs)
    await authenticator.jwks.aclose()  # the HTTP client it made for itself is not needed
    authenticator.jwks = JwksClient(
        LOCAL_JWKS_URL,
        ttl=config.jwks_ttl_seconds,
        min_refresh_interval=0.0,
        max_stale=config.jwks_max_stale_seconds,
        http=httpx.AsyncClient(transport=KeyRingTransport(keyring)),
    )
    return authenticator
