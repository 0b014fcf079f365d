"""Accounts: registration, password login, and the administration of users."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from productstore_auth.app.core import errors
from productstore_auth.app.data.login_attempts import Limit, LoginAttempts
from productstore_auth.app.data.users import (
    EmailTakenError,
    UserRecord,
    UserStore,
)
from productstore_auth.app.services.passwords import Passwords
from productstore_common.auth import Role, RoleEpochs
from productstore_common.errors import Problem

__all__ = ["DEFAULT_ROLES", "Accounts", "LoginLimits", "UserRecord"]

_logger = logging.getLogger(__name__)

DEFAULT_ROLES: frozenset[Role] = frozenset({"user"})


@dataclass(frozen=True)
class LoginLimits:
    per_ip: int  # attempts per window from one client address


class Accounts:
    def __init__(
        self,
        users: UserStore,
        passwords: Passwords,
        attempts: LoginAttempts,
        limits: LoginLimits,
        *,
        epochs: RoleEpochs,
        token_lifetime: timedelta,
        on_login: Callable[[str], None] = lambda outcome: None,
    ) -> None:
        self.users = users
        self.passwords = passwords
        self.attempts = attempts
        self.limits = limits
        # Role epochs: a demoted or disabled user's tokens lose their roles at once in
        # every service (productstore_common.auth.revocation), for as long as any of
        # them can live.
        self.epochs = epochs
        self.token_lifetime = token_lifetime
        self.on_login = on_login

    async def register(
        self, *, email: str, name: str, password: str, roles: frozenset[Role] = DEFAULT_ROLES
    ) -> UserRecord:
        """A new account (`email` normalised by the caller); 409 if the address is taken."""
        # A cheap read first spares the hash for most duplicates; the LWT in
        # `create` is what decides between concurrent registrations.
        if await self.users.get_by_email(email) is not None:
            raise errors.email_taken()
        password_hash = await self.passwords.hash(password)
        try:
            return await self.users.create(
                email=email, name=name, password_hash=password_hash, roles=frozenset(roles)
            )
        except EmailTakenError:
            raise errors.email_taken() from None

    async def authenticate(self, *, email: str, password: str, client_ip: str) -> UserRecord:
        """The user whose credentials these are: 429 when rate-limited, 401 when wrong,
        403 when the account is disabled (said only to whoever knows the password)."""
        try:
            user = await self._authenticate(email=email, password=password, client_ip=client_ip)
        except Problem as problem:
            self.on_login(str(problem.extra.get("reason", "failed")))
            raise
        self.on_login("success")
        return user

    async def _authenticate(self, *, email: str, password: str, client_ip: str) -> UserRecord:
        # The address's budget first: it costs no hash, and it is the sender's own.
        exceeded = await self.attempts.attempt([Limit("ip", client_ip, self.limits.per_ip)])
        if exceeded is not None:
            raise errors.rate_limited(exceeded.retry_after, "from your address")
        # The account's failures delay its next attempt (refused unchecked until then,
        # so a guesser learns nothing); successes are never counted against it.
        waiting = await self.attempts.admit(email)
        if waiting is not None:
            raise errors.rate_limited(waiting.retry_after, "for this account")
        user = await self.users.get_by_email(email)
        matches = await self.passwords.verify(user.password_hash if user else None, password)
        if user is None or not matches:
            await self.attempts.failed(email)
            raise errors.invalid_credentials()
        await self.attempts.succeeded(email)
        if user.disabled:
            raise errors.account_disabled()
        if self.passwords.needs_rehash(user.password_hash):
            # The cost parameters were raised since this hash was made.
            await self.users.set_password_hash(user.id, await self.passwords.hash(password))
        return user

    async def active_user(self, user_id: str) -> UserRecord:
        """The user an access or refresh token speaks for, if it still may act."""
        parsed = _uuid(user_id)
        user = await self.users.get(parsed) if parsed is not None else None
        if user is None:
            # The token verified, so the account existed: it has been removed since.
            raise errors.invalid_refresh_token("user_not_found", "The account no longer exists.")
        if user.disabled:
            raise errors.account_disabled()
        return user

    async def get(self, user_id: uuid.UUID) -> UserRecord:
        user = await self.users.get(user_id)
        if user is None:
            raise errors.user_not_found(user_id)
        return user

    async def page(self, *, limit: int, cursor: str | None) -> tuple[list[UserRecord], str | None]:
        """A page of users and the cursor of the next one (None after the last page)."""
        after = None
        if cursor is not None:
            after = _uuid(cursor)
            if after is None:
                raise errors.invalid_cursor()
        users = await self.users.page(limit=limit, after=after)
        # A full page may be the last one; the next request then gets an empty page.
        next_cursor = str(users[-1].id) if len(users) == limit else None
        return users, next_cursor

    async def set_roles(
        self, user_id: uuid.UUID, roles: frozenset[Role], *, acting_admin: str
    ) -> UserRecord:
        if str(user_id) == acting_admin and "admin" not in roles:
            raise errors.conflict(
                "own_admin_role",
                "You cannot remove your own admin role; ask another administrator.",
            )
        before = await self.users.get(user_id)
        user = await self.users.set_roles(user_id, frozenset(roles))
        if user is None:
            raise errors.user_not_found(user_id)
        if before is not None and not before.roles <= user.roles:
            # A role was taken away: the user's tokens lose theirs in every service.
            # After the change, so a token minted from the old roles meanwhile is older.
            # (A promotion needs nothing: the old tokens carry fewer rights.)
            await self._revoke(user_id)
        _logger.info("roles of user %s set to %s by %s", user_id, sorted(roles), acting_admin)
        return user

    async def set_disabled(
        self, user_id: uuid.UUID, *, disabled: bool, acting_admin: str
    ) -> UserRecord:
        if str(user_id) == acting_admin and disabled:
            raise errors.conflict("own_account", "You cannot disable your own account.")
        user = await self.users.set_disabled(user_id, disabled=disabled)
        if user is None:
            raise errors.user_not_found(user_id)
        if disabled:
            await self._revoke(user_id)
        _logger.info(
            "user %s %s by %s", user_id, "disabled" if disabled else "enabled", acting_admin
        )
        return user

    async def _revoke(self, user_id: uuid.UUID) -> None:
        # A Redis failure answers 503 to the acting administrator: the change is stored,
        # and repeating the call (idempotent) records the epoch.
        await self.epochs.revoke(str(user_id), lifetime_seconds=self.token_lifetime.total_seconds())

    async def ensure_admin(self, *, email: str, name: str, password: str) -> None:
        """Create the configured first administrator unless the address has an account."""
        if await self.users.get_by_email(email) is not None:
            return
        try:
            await self.register(
                email=email, name=name, password=password, roles=frozenset({"admin", "user"})
            )
        except Problem:
            return  # another replica created it first
        _logger.info("created the first administrator %s", email)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
