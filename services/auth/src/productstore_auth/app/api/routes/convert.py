"""Records of the services layer as API models."""

from __future__ import annotations

from typing import get_args

from productstore_auth.app.models import TokenPair, UserPublic
from productstore_auth.app.services.accounts import UserRecord
from productstore_auth.app.services.sessions import IssuedTokens
from productstore_common.auth import Role

_ROLES: tuple[Role, ...] = get_args(Role)


def user_public(user: UserRecord) -> UserPublic:
    return UserPublic(
        id=user.id,
        email=user.email,
        name=user.name,
        roles=[role for role in _ROLES if role in user.roles],
        disabled=user.disabled,
        created_at=user.created_at,
    )


def token_pair(tokens: IssuedTokens) -> TokenPair:
    return TokenPair(
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
        refresh_expires_in=tokens.refresh_expires_in,
    )
