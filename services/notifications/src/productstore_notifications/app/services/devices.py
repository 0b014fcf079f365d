"""The signed-in user's Web Push subscriptions: checked before they are kept.

The service later POSTs to each endpoint, so an endpoint must be a push service's
(https, a host from PUSH_ENDPOINT_HOSTS; plain http only to a loopback host on that
list, devstack's stand-in), and the keys must be what a browser gives: p256dh an
uncompressed P-256 point, auth 16 octets. Each refusal says which part is wrong.
"""

from __future__ import annotations

import binascii
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from productstore_common.errors import problem
from productstore_notifications.app.data.devices import DeviceStore
from productstore_notifications.app.data.webpush import Subscription, b64url_decode
from productstore_notifications.app.models import (
    DeviceCreate,
    DevicePublic,
    DevicesPage,
)

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def endpoint_error(endpoint: str, allowed: list[str]) -> str | None:
    """Why ``endpoint`` is not a push service's URL we may POST to, or None."""
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return "endpoint is not a URL"
    if parts.scheme not in ("https", "http") or not host:
        return "endpoint must be an https URL (the push service's, from the browser)"
    if parts.username or parts.password:
        return "endpoint must not carry credentials"
    netloc = f"{host}:{port}" if port else host
    listed = any(
        entry in {host, netloc} or (entry.startswith(".") and host.endswith(entry))
        for entry in allowed
    )
    if not listed:
        return f"endpoint host {host} is not a push service this store sends to"
    if parts.scheme == "http" and host not in LOOPBACK:
        return "endpoint must be https"
    return None


def key_error(name: str, value: str, octets: int) -> str | None:
    try:
        raw = b64url_decode(value)
    except (ValueError, binascii.Error):
        return f"keys.{name} is not base64url"
    if len(raw) != octets:
        return f"keys.{name} is {len(raw)} octets, not {octets}"
    if name == "p256dh":
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError:
            return "keys.p256dh is not an uncompressed point on P-256"
    return None


class Devices:
    def __init__(
        self,
        store: DeviceStore,
        *,
        allowed_hosts: list[str],
        max_devices: int,
        vapid_public_key: str | None,
    ) -> None:
        self.store = store
        self.allowed_hosts = allowed_hosts
        self.max_devices = max_devices
        self.vapid_public_key = vapid_public_key

    async def list(self, user_id: uuid.UUID) -> DevicesPage:
        return DevicesPage(
            items=[DevicePublic(endpoint=s.endpoint) for s in await self.store.of(user_id)],
            vapid_public_key=self.vapid_public_key,
        )

    async def add(self, user_id: uuid.UUID, body: DeviceCreate) -> DevicePublic:
        if self.vapid_public_key is None:
            raise problem(
                503,
                "push_not_configured",
                "Web Push is not configured here (no VAPID key); subscriptions are not kept.",
            )
        errors = [
            e
            for e in (
                endpoint_error(body.endpoint, self.allowed_hosts),
                key_error("p256dh", body.keys.p256dh, 65),
                key_error("auth", body.keys.auth, 16),
            )
            if e
        ]
        if errors:
            raise problem(422, "invalid_subscription", "; ".join(errors) + ".")
        existing = await self.store.of(user_id)
        if len(existing) >= self.max_devices and all(s.endpoint != body.endpoint for s in existing):
            raise problem(
                409,
                "too_many_devices",
                f"You have {len(existing)} subscriptions, the most kept; remove one first.",
            )
        subscription = Subscription(body.endpoint, body.keys.p256dh, body.keys.auth)
        await self.store.add(user_id, subscription, datetime.now(UTC))
        return DevicePublic(endpoint=body.endpoint)

    async def remove(self, user_id: uuid.UUID, endpoint: str) -> None:
        if not await self.store.remove(user_id, endpoint):
            raise problem(404, "device_not_found", "You have no subscription with this endpoint.")
