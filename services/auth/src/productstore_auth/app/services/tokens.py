"""Signing access tokens: for users (store audience) and for services (one callee each)."""

from __future__ import annotations

from datetime import timedelta

from productstore_auth.app.data.users import UserRecord
from productstore_auth.app.services.keyring import KeyRing
from productstore_common.auth import Role, access_token_claims, sign_access_token


class AccessTokens:
    def __init__(
        self,
        keyring: KeyRing,
        *,
        issuer: str,
        audience: str,
        user_lifetime: timedelta,
        service_lifetime: timedelta,
    ) -> None:
        self.keyring = keyring
        self.issuer = issuer
        self.audience = audience
        self.user_lifetime = user_lifetime
        self.service_lifetime = service_lifetime

    async def for_user(self, user: UserRecord) -> str:
        # A role unknown to verifiers would make them reject the token: drop it here.
        roles: list[Role] = [role for role in ("admin", "user") if role in user.roles]
        claims = access_token_claims(
            issuer=self.issuer,
            audience=self.audience,
            subject=str(user.id),
            token_type="user",  # noqa: S106 - a token kind
            roles=roles,
            lifetime=self.user_lifetime,
        )
        kid, key = await self.keyring.signing_key()
        return sign_access_token(claims, key, kid)

    async def for_service(self, client_id: str, audience: str) -> str:
        claims = access_token_claims(
            issuer=self.issuer,
            audience=audience,
            subject=client_id,
            token_type="service",  # noqa: S106 - a token kind
            lifetime=self.service_lifetime,
        )
        kid, key = await self.keyring.signing_key()
        return sign_access_token(claims, key, kid)
