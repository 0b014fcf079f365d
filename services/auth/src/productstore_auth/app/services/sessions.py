"""Login sessions: an access token plus a rotating refresh token per login.

The refresh token is opaque (256 random bits) and stored only as its SHA-256.
Each refresh uses it up (an LWT, so two concurrent refreshes cannot both win)
and returns a new one in the same family. Presenting a used token again means
it was stolen or replayed (RFC 9700 §4.14.2): the whole family is revoked, so
neither the thief nor the victim can continue without logging in again.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from productstore_auth.app.core import errors
from productstore_auth.app.data.clock import now_ms
from productstore_auth.app.data.refresh_tokens import FamilyRecord, RefreshTokenStore
from productstore_auth.app.data.users import UserRecord
from productstore_auth.app.services.accounts import Accounts
from productstore_auth.app.services.tokens import AccessTokens

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


def token_hash(refresh_token: str) -> bytes:
    return hashlib.sha256(refresh_token.encode()).digest()


class Sessions:
    def __init__(
        self,
        store: RefreshTokenStore,
        accounts: Accounts,
        tokens: AccessTokens,
        *,
        refresh_lifetime: timedelta,
        session_lifetime: timedelta,
        on_reuse: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.tokens = tokens
        self.refresh_lifetime = refresh_lifetime
        self.session_lifetime = session_lifetime
        self.on_reuse = on_reuse

    async def start(self, user: UserRecord) -> IssuedTokens:
        """A new session (refresh family) for a user who just proved who they are."""
        now = now_ms()
        family_id = uuid.uuid4()
        await self.store.create_family(family_id, user.id, now, now + self.session_lifetime)
        return await self._issue(user, family_id, now, now + self.session_lifetime)

    async def _issue(
        self, user: UserRecord, family_id: uuid.UUID, now: datetime, session_end: datetime
    ) -> IssuedTokens:
        refresh_token = secrets.token_urlsafe(32)
        expires_at = min(now + self.refresh_lifetime, session_end)
        await self.store.add_token(
            token_hash(refresh_token),
            family_id=family_id,
            user_id=user.id,
            issued_at=now,
            expires_at=expires_at,
        )
        return IssuedTokens(
            access_token=await self.tokens.for_user(user),
            expires_in=int(self.tokens.user_lifetime.total_seconds()),
            refresh_token=refresh_token,
            refresh_expires_in=int((expires_at - now).total_seconds()),
        )

    async def refresh(self, refresh_token: str) -> IssuedTokens:
        """New tokens for a valid, unused refresh token, which is used up."""
        now = now_ms()
        token = await self.store.get_token(token_hash(refresh_token))
        if token is None or token.expires_at <= now:
            raise errors.invalid_refresh_token(
                "invalid_refresh_token", "The refresh token is unknown or has expired."
            )
        family = await self.store.get_family(token.family_id)
        if family is None or family.revoked_at is not None or family.expires_at <= now:
            raise errors.invalid_refresh_token(
                "session_ended", "This session has ended (logged out, revoked or expired)."
            )
        # Account checks come before using the token up: a disabled user's refresh
        # must not count as a use, or enabling them again would look like theft.
        user = await self.accounts.active_user(str(token.user_id))
        if user.sessions_valid_after is not None and family.created_at < user.sessions_valid_after:
            raise errors.invalid_refresh_token(
                "session_ended", "This session was ended by an administrator."
            )
        if not await self.store.mark_used(token):
            await self._revoke(family, "reuse")
            self.on_reuse()
            _logger.warning(
                "refresh token reuse in family %s of user %s: family revoked",
                family.family_id,
                family.user_id,
            )
            raise errors.invalid_refresh_token(
                "refresh_token_reused",
                "This refresh token was used before, so it may have been stolen: the session "
                "it belongs to is revoked.",
            )
        return await self._issue(user, family.family_id, now, family.expires_at)

    async def end(self, refresh_token: str) -> None:
        """Log out: revoke the token's family. Unknown tokens are ignored (idempotent)."""
        token = await self.store.get_token(token_hash(refresh_token))
        if token is None:
            return
        family = await self.store.get_family(token.family_id)
        if family is not None and family.revoked_at is None:
            await self._revoke(family, "logout")

    async def _revoke(self, family: FamilyRecord, reason: str) -> None:
        await self.store.revoke_family(family, reason)
