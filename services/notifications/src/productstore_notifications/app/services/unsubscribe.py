"""Signed one-click unsubscribe links (RFC 8058): who, which topic, which channel, until when.

A token is `<payload>.<signature>`, both base64url without padding; the payload is
`v1|<user id>|<topic>|<channel>|<expiry, Unix seconds>` and the signature its
HMAC-SHA256 under the service's unsubscribe key. No state: the link itself says what
to do, and only a holder of the key can make one. A link names one topic and channel,
so following it mutes exactly what the message it came in was about.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import get_args
from urllib.parse import urlencode

from productstore_common.errors import Problem, problem
from productstore_notifications.app.data.store import NotificationStore
from productstore_notifications.app.models import Channel, Topic, Unsubscribed

_VERSION = "v1"
UNSUBSCRIBE_PATH = "/api/notifications/unsubscribe"


@dataclass(frozen=True)
class UnsubscribeRequest:
    user_id: uuid.UUID
    topic: Topic
    channel: Channel
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _invalid(why: str) -> Problem:
    return problem(
        400,
        "unsubscribe_link_invalid",
        f"This unsubscribe link is not one we sent ({why}); use the link from the e-mail "
        "as it is, or change your notification preferences after signing in.",
    )


class UnsubscribeLinks:
    """Makes and checks the links; `public_url` is where users reach the gateway."""

    def __init__(
        self,
        key: bytes,
        public_url: str,
        *,
        valid_for: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if len(key) < 16:
            raise ValueError("the unsubscribe key needs at least 16 bytes")
        self._key = key
        self.public_url = public_url.rstrip("/")
        self.valid_for = valid_for
        self.clock = clock

    def token(self, user_id: uuid.UUID, topic: Topic, channel: Channel = "email") -> str:
        expires = int((self.clock() + self.valid_for).timestamp())
        payload = f"{_VERSION}|{user_id}|{topic}|{channel}|{expires}".encode()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def url(self, user_id: uuid.UUID, topic: Topic, channel: Channel = "email") -> str:
        query = urlencode({"token": self.token(user_id, topic, channel)})
        return f"{self.public_url}{UNSUBSCRIBE_PATH}?{query}"

    def verify(self, token: str) -> UnsubscribeRequest:
        """What the link asks for; a problem (400 tampered or malformed, 410 expired)."""
        encoded, dot, signature = token.partition(".")
        if not dot or not encoded or not signature:
            raise _invalid("it is incomplete")
        try:
            payload, given = _unb64(encoded), _unb64(signature)
        except (binascii.Error, ValueError):
            raise _invalid("it is not base64url") from None
        if not hmac.compare_digest(given, self._sign(payload)):
            raise _invalid("its signature does not match")
        # Signed by us, so well-formed unless the format changed under the key.
        version, user, topic, channel, expires = payload.decode().split("|")
        if version != _VERSION or topic not in get_args(Topic) or channel not in get_args(Channel):
            raise _invalid("it is of a format we no longer accept")
        expires_at = datetime.fromtimestamp(int(expires), UTC)
        if expires_at <= self.clock():
            raise problem(
                410,
                "unsubscribe_link_expired",
                f"This unsubscribe link expired on {expires_at:%Y-%m-%d}; the newest e-mail "
                "has a fresh one, or change your notification preferences after signing in.",
            )
        return UnsubscribeRequest(uuid.UUID(user), topic, channel, expires_at)  # type: ignore[arg-type]

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()


class Unsubscribes:
    """What the link's endpoint does: check the link, then mute its topic on its channel."""

    def __init__(self, store: NotificationStore, links: UnsubscribeLinks) -> None:
        self.store = store
        self.links = links

    def check(self, token: str) -> UnsubscribeRequest:
        return self.links.verify(token)

    async def unsubscribe(self, token: str) -> Unsubscribed:
        request = self.links.verify(token)
        # A set append: idempotent, so a second click (or the mail client's POST and
        # the user's) changes nothing more.
        await self.store.opt_out(
            request.user_id, f"{request.topic}:{request.channel}", self.links.clock()
        )
        return Unsubscribed(
            topic=request.topic,
            channel=request.channel,
            detail=f"No more {request.channel} about {request.topic.replace('_', ' ')}; "
            "change it back in your notification preferences.",
        )
