"""Phone verification: a one-time code by SMS proves the user holds the phone before any
SMS delivery update goes to it.

A code is six random digits, sent through the SMS provider chain and kept only as an
HMAC-SHA256 under the service's key (with the user and the phone), for
`PHONE_CODE_SECONDS`. A guess is compared in constant time; wrong guesses are counted by
compare-and-set, and after `PHONE_CODE_ATTEMPTS` the code is void. Codes are limited per
user and per phone (`PHONE_CODES_PER_HOUR`, in Redis, failing closed: each one is a paid
SMS). Changing the phone unverifies it (the verified phone is kept beside it).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from productstore_common.errors import problem
from productstore_common.events import Backoff
from productstore_common.ratelimit import RateLimit, RateLimitedError, RateLimiter
from productstore_notifications.app.data.sms import Sms
from productstore_notifications.app.data.store import NotificationStore, PhoneCode
from productstore_notifications.app.models import Locale, PhoneCodeSent, PreferencesPublic
from productstore_notifications.app.services.inbox import public_preferences
from productstore_notifications.app.services.providers import (
    Attempt,
    FailoverChain,
    send_in_rounds,
)
from productstore_notifications.app.services.rendering import render_phone_code

_logger = logging.getLogger(__name__)

CODE_DIGITS = 6


class PhoneVerification:
    def __init__(
        self,
        store: NotificationStore,
        sms: FailoverChain[Sms] | None,
        limiter: RateLimiter,
        key: bytes,
        *,
        code_seconds: int,
        attempts: int,
        per_hour: int,
        rounds: int,
        backoff: Callable[[], Backoff],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.sms = sms
        self.limiter = limiter
        self.key = key
        self.code_seconds = code_seconds
        self.attempts = attempts
        self.per_user = RateLimit("phone_codes_user", rate=per_hour, per=3600)
        # Many accounts must not make one phone a target either.
        self.per_phone = RateLimit("phone_codes_phone", rate=per_hour, per=3600)
        self.rounds = rounds
        self.backoff = backoff
        self.clock = clock

    def _hash(self, user_id: uuid.UUID, phone: str, code: str) -> bytes:
        return hmac.new(self.key, f"{user_id}:{phone}:{code}".encode(), hashlib.sha256).digest()

    async def send_code(self, user_id: uuid.UUID) -> PhoneCodeSent:
        """A new code to the preferences' phone (replacing a pending one)."""
        if self.sms is None:
            # As a replay of an unconfigured channel: a state of this store, not an outage.
            raise problem(
                409,
                "sms_not_configured",
                "This store sends no SMS (no provider is configured), so no code can be sent.",
            )
        preferences = await self.store.preferences(user_id)
        phone = preferences.phone
        if phone is None:
            raise problem(
                409,
                "no_phone",
                "Your preferences hold no phone: PUT one (E.164, e.g. +447700900123) first.",
            )
        if preferences.verified_phone is not None:
            raise problem(409, "phone_already_verified", f"{phone} is verified already.")
        phone_digest = hashlib.sha256(phone.encode()).hexdigest()
        for limit, subject in ((self.per_user, str(user_id)), (self.per_phone, phone_digest)):
            decision = await self.limiter.check(limit, subject, fail_open=False)
            if not decision.allowed:
                raise RateLimitedError(limit, decision)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        expires_at = self.clock() + timedelta(seconds=self.code_seconds)
        locale: Locale = "ru" if preferences.locale == "ru" else "en"
        text = render_phone_code(code, max(1, self.code_seconds // 60), locale)
        reference = f"verify:{user_id}:{uuid.uuid4()}"

        async def log(attempt: int, tried: Attempt) -> None:
            if not tried.ok:
                _logger.warning(
                    "phone code to user %s: %s failed: %s", user_id, tried.provider, tried.error
                )

        # Saved first: a code that reached the phone is always one that can be checked.
        await self.store.save_phone_code(
            user_id,
            PhoneCode(phone, self._hash(user_id, phone, code), 0, expires_at),
            self.code_seconds,
        )
        result = await send_in_rounds(
            self.sms,
            Sms(to=phone, body=text, reference=reference),
            rounds=self.rounds,
            backoff=self.backoff(),
            log=log,
            all_open="every SMS provider's circuit breaker is open",
        )
        if result.sent_by is None:
            await self.store.forget_phone_code(user_id)
            raise problem(
                503,
                "sms_unavailable",
                "No SMS provider took the code; ask for a new one in a minute.",
                headers={"Retry-After": "60"},
            )
        return PhoneCodeSent(phone=phone, expires_at=expires_at)

    async def verify(self, user_id: uuid.UUID, code: str) -> PreferencesPublic:
        """The preferences with the phone verified, if `code` is the pending one.

        Each guess first takes one of the code's attempts (compare-and-set, retried
        when another guess took one first), then compares: a hundred parallel guesses
        get no more tries than a hundred in a row.
        """
        pending = await self._take_attempt(user_id)
        expected = self._hash(user_id, pending.phone, code)
        if not hmac.compare_digest(expected, pending.code_hash):
            left = self.attempts - pending.attempts - 1
            raise problem(
                422,
                "verification_code_invalid",
                "That is not the code we sent."
                + (f" {left} tries left." if left > 0 else " The code is void: ask for a new one."),
                attempts_left=max(0, left),
            )
        preferences = await self.store.preferences(user_id)
        if preferences.phone != pending.phone or not await self.store.mark_phone_verified(
            user_id, pending.phone, self.clock()
        ):
            await self.store.forget_phone_code(user_id)
            raise problem(
                409,
                "phone_changed",
                "The code was sent to a phone your preferences no longer hold; ask for a new one.",
            )
        await self.store.forget_phone_code(user_id)
        return public_preferences(await self.store.preferences(user_id))

    async def _take_attempt(self, user_id: uuid.UUID) -> PhoneCode:
        """The pending code as it was when this guess took an attempt of it."""
        for _ in range(2 * self.attempts + 2):
            pending = await self.store.phone_code(user_id)
            if pending is None or pending.expires_at <= self.clock():
                raise problem(
                    410,
                    "verification_code_expired",
                    "No code is pending: it expired, was used, or was never sent. Ask for a "
                    "new one.",
                )
            if pending.attempts >= self.attempts:
                raise problem(
                    429,
                    "too_many_attempts",
                    f"{self.attempts} wrong codes: this one is void. Ask for a new one.",
                )
            if await self.store.count_guess(user_id, pending):
                return pending
        raise problem(
            429, "too_many_attempts", "Too many guesses at once: this code is void for now."
        )
