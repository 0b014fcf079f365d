"""Web Push to a browser's push service: VAPID (RFC 8292) and aes128gcm (RFC 8291).

The application server's key pair is the service's secret (``NOTIFICATIONS_VAPID_
PRIVATE_KEY``: 32 octets base64url, what `web-push generate-vapid-keys` prints and
what the operator's generated secrets look like). Each push carries a fresh ES256 JWT
(``aud`` the endpoint's origin, ``exp`` 12 h ahead, ``sub`` the contact) and a body
encrypted to the subscription's p256dh key and auth secret with a new ephemeral key
(http-ece). The push service's 404 or 410 means the subscription is gone for good.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import http_ece
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# RFC 8292 allows up to 24 h; half leaves room for clock skew.
JWT_LIFETIME_SECONDS = 12 * 3600
# How long a push service keeps an undelivered message (RFC 8030 TTL).
DEFAULT_TTL_SECONDS = 24 * 3600


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def vapid_private_key(secret: str) -> ec.EllipticCurvePrivateKey:
    """The key from its 32 octets in base64url; ValueError says what is wrong."""
    try:
        raw = b64url_decode(secret.strip())
    except ValueError:
        raise ValueError("the VAPID private key is not base64url") from None
    if len(raw) != 32:
        raise ValueError(f"the VAPID private key is {len(raw)} octets, not 32 (base64url)")
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def public_key_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class PushResult:
    outcome: Literal["sent", "gone", "failed"]
    status: int | None
    error: str | None = None


class WebPushSender:
    def __init__(
        self, private_key: ec.EllipticCurvePrivateKey, *, subject: str, timeout: float
    ) -> None:
        self._key = private_key
        self.subject = subject
        self.public_key = b64url(public_key_bytes(private_key.public_key()))
        self._http = httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    def authorization(self, endpoint: str, now: float | None = None) -> str:
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int((time.time() if now is None else now) + JWT_LIFETIME_SECONDS),
            "sub": self.subject,
        }
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"typ": "JWT"})
        return f"vapid t={token}, k={self.public_key}"

    @staticmethod
    def encrypt(payload: bytes, subscription: Subscription) -> bytes:
        body: bytes = http_ece.encrypt(
            payload,
            salt=os.urandom(16),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=b64url_decode(subscription.p256dh),
            auth_secret=b64url_decode(subscription.auth),
            version="aes128gcm",
        )
        return body

    async def push(
        self, subscription: Subscription, payload: dict[str, Any], *, topic: str | None = None
    ) -> PushResult:
        body = self.encrypt(json.dumps(payload, ensure_ascii=False).encode(), subscription)
        headers = {
            "Authorization": self.authorization(subscription.endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(DEFAULT_TTL_SECONDS),
            "Urgency": "normal",
        }
        if topic:
            headers["Topic"] = topic
        try:
            response = await self._http.post(subscription.endpoint, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return PushResult("failed", None, f"{type(exc).__name__}: {exc}")
        if response.status_code in (404, 410):
            return PushResult("gone", response.status_code, "the subscription is gone")
        if not response.is_success:
            return PushResult(
                "failed",
                response.status_code,
                f"the push service answered {response.status_code}: {response.text[:200]}",
            )
        return PushResult("sent", response.status_code)
