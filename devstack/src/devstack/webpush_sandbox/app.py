"""The Web Push stand-in's HTTP API (``uvicorn devstack.webpush_sandbox.app:create_app --factory``).

It plays both halves a real push needs, on loopback:

- **the browser** subscribing: ``POST /subscriptions`` (optionally with the
  application server's VAPID public key, as ``PushManager.subscribe`` takes it)
  answers a ``PushSubscription`` JSON: ``endpoint`` and ``keys.p256dh`` /
  ``keys.auth``. The stand-in keeps the private key, as a browser does;
  ``DELETE /subscriptions/<id>`` is the user unsubscribing.
- **the push service** receiving: ``POST /push/<id>`` checks VAPID (RFC 8292: an
  ES256 JWT verified with ``k``, ``aud`` this origin, ``exp`` within 24 h; ``k`` the
  key given at subscribe time, if one was), requires ``TTL`` (RFC 8030) and
  ``Content-Encoding: aes128gcm``, decrypts the body with the subscription's keys
  (RFC 8291) and answers 201 with a ``Location``. An unsubscribed endpoint answers
  410, an unknown one 404, as push services do, so a sender learns to drop it.

Tests read the decrypted messages with ``GET /messages?subscription=`` and forget
them with ``DELETE /messages``; refused pushes are listed by ``GET /refusals``
(with the reason), so a test sees why a push did not arrive.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from devstack.webpush_sandbox.crypto import (
    MAX_PAYLOAD_BYTES,
    PushRefused,
    Vapid,
    b64url,
    b64url_decode,
    check_vapid,
    decrypt,
    public_bytes,
)

MAX_MESSAGES = 1000
# A long-running stack forgets the oldest subscriptions (their endpoints then 404).
MAX_SUBSCRIPTIONS = 10_000
PROBLEM_TYPE = "application/problem+json"


class Subscribe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application_server_key: str | None = Field(
        default=None,
        description="The VAPID public key (base64url); pushes signed with another are 403.",
    )


class SubscriptionKeys(BaseModel):
    p256dh: str = Field(description="The subscription's public key, base64url (65 octets).")
    auth: str = Field(description="The auth secret, base64url (16 octets).")


class PushSubscription(BaseModel):
    """What ``PushSubscription.toJSON()`` gives a page."""

    endpoint: str
    expirationTime: None = None  # noqa: N815 - the browser's name
    keys: SubscriptionKeys


class Delivered(BaseModel):
    """One push that passed every check, decrypted."""

    id: int
    subscription: str
    received_at: float
    ttl: int
    urgency: str | None
    topic: str | None
    vapid_sub: str | None = Field(description="The JWT's sub (the sender's contact).")
    plaintext: str = Field(description="The decrypted payload (UTF-8; invalid bytes replaced).")


class Refusal(BaseModel):
    subscription: str
    status: int
    detail: str
    at: float


class Messages(BaseModel):
    messages: list[Delivered]


class Refusals(BaseModel):
    refusals: list[Refusal]


@dataclass
class _Subscription:
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    server_key: str | None
    active: bool = True


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": "Push refused", "status": status, "detail": detail},
        status_code=status,
        media_type=PROBLEM_TYPE,
    )


def _accept(  # noqa: PLR0917 - the request's parts
    found: _Subscription | None,
    origin: str,
    authorization: str | None,
    ttl: str | None,
    content_encoding: str | None,
    body: bytes,
) -> tuple[Vapid, bytes]:
    """The checks in a push service's order; PushRefused says which failed."""
    if found is None:
        raise PushRefused(404, "no such subscription")
    if not found.active:
        raise PushRefused(410, "the subscription is gone (unsubscribed)")
    vapid = check_vapid(authorization, origin)
    if found.server_key is not None and vapid.public_key != found.server_key:
        raise PushRefused(403, "k is not the application server key of the subscription")
    if ttl is None or not ttl.isdigit():
        raise PushRefused(400, "the TTL header is required (RFC 8030 section 5.2)")
    if (content_encoding or "").lower() != "aes128gcm":
        raise PushRefused(400, "Content-Encoding must be aes128gcm (RFC 8291)")
    if len(body) > MAX_PAYLOAD_BYTES:
        raise PushRefused(413, f"the body is {len(body)} octets, over 4096")
    return vapid, decrypt(body, found.private_key, found.auth_secret)


def create_app() -> FastAPI:
    subscriptions: dict[str, _Subscription] = {}
    messages: deque[Delivered] = deque(maxlen=MAX_MESSAGES)
    refusals: deque[Refusal] = deque(maxlen=MAX_MESSAGES)
    ids = itertools.count(1)
    app = FastAPI(title="Web Push stand-in", description=__doc__, version="1")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(
        "/subscriptions",
        status_code=201,
        response_model=PushSubscription,
        tags=["browser"],
        summary="Subscribe, as a browser's PushManager.subscribe would",
    )
    async def subscribe(request: Request, body: Subscribe | None = None) -> Response:
        server_key = body.application_server_key if body else None
        if server_key is not None:
            raw = b64url_decode(server_key)
            if len(raw) != 65 or raw[0] != 4:
                return _problem(422, "application_server_key is not an uncompressed P-256 point")
        key = ec.generate_private_key(ec.SECP256R1())
        subscription_id = secrets.token_urlsafe(16)
        subscriptions[subscription_id] = _Subscription(key, secrets.token_bytes(16), server_key)
        while len(subscriptions) > MAX_SUBSCRIPTIONS:
            del subscriptions[next(iter(subscriptions))]
        made = PushSubscription(
            endpoint=f"{str(request.base_url).rstrip('/')}/push/{subscription_id}",
            keys=SubscriptionKeys(
                p256dh=b64url(public_bytes(key.public_key())),
                auth=b64url(subscriptions[subscription_id].auth_secret),
            ),
        )
        return JSONResponse(made.model_dump(), status_code=201)

    @app.delete(
        "/subscriptions/{subscription_id}",
        status_code=204,
        tags=["browser"],
        summary="Unsubscribe: the endpoint answers 410 from now on",
    )
    async def unsubscribe(subscription_id: str) -> Response:
        if (found := subscriptions.get(subscription_id)) is None:
            return _problem(404, "no such subscription")
        found.active = False
        return Response(status_code=204)

    @app.post(
        "/push/{subscription_id}",
        status_code=201,
        tags=["push service"],
        summary="Deliver a push message (RFC 8030, VAPID and aes128gcm)",
        responses={
            400: {"description": "No TTL, not aes128gcm, or the body does not decrypt."},
            401: {"description": "VAPID missing or invalid (signature, aud, exp)."},
            403: {"description": "k is not the key the subscription was made with."},
            404: {"description": "No such subscription."},
            410: {"description": "The subscription was unsubscribed."},
            413: {"description": "The encrypted body is over 4096 octets."},
        },
    )
    async def push(  # noqa: PLR0917 - the RFC's headers
        subscription_id: str,
        request: Request,
        ttl: Annotated[str | None, Header(alias="TTL")] = None,
        content_encoding: Annotated[str | None, Header()] = None,
        authorization: Annotated[str | None, Header()] = None,
        urgency: Annotated[str | None, Header()] = None,
        topic: Annotated[str | None, Header()] = None,
    ) -> Response:
        body = await request.body()
        origin = f"{request.url.scheme}://{request.url.netloc}"
        try:
            vapid, plaintext = _accept(
                subscriptions.get(subscription_id),
                origin,
                authorization,
                ttl,
                content_encoding,
                body,
            )
        except PushRefused as refused:
            refusals.append(
                Refusal(
                    subscription=subscription_id,
                    status=refused.status,
                    detail=refused.detail,
                    at=time.time(),
                )
            )
            return _problem(refused.status, refused.detail)
        delivered = Delivered(
            id=next(ids),
            subscription=subscription_id,
            received_at=time.time(),
            ttl=int(ttl or 0),
            urgency=urgency,
            topic=topic,
            vapid_sub=vapid.claims.get("sub"),
            plaintext=plaintext.decode(errors="replace"),
        )
        messages.append(delivered)
        return Response(
            status_code=201, headers={"Location": f"/messages/{delivered.id}", "TTL": str(ttl)}
        )

    @app.get("/messages", tags=["read"], summary="Delivered pushes, decrypted, oldest first")
    async def list_messages(
        subscription: Annotated[str | None, Query(description="Only this subscription's")] = None,
    ) -> Messages:
        return Messages(messages=[m for m in messages if subscription in (None, m.subscription)])

    @app.delete("/messages", status_code=204, tags=["read"], summary="Forget every push")
    async def clear_messages() -> Response:
        messages.clear()
        refusals.clear()
        return Response(status_code=204)

    @app.get("/refusals", tags=["read"], summary="Refused pushes and why, oldest first")
    async def list_refusals(
        subscription: Annotated[str | None, Query(description="Only this subscription's")] = None,
    ) -> Refusals:
        return Refusals(refusals=[r for r in refusals if subscription in (None, r.subscription)])

    return app
