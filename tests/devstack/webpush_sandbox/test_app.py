"""The Web Push stand-in as an application server sees it: a push signed with VAPID and
encrypted to the subscription is decrypted and recorded; every broken part of RFC 8292,
8291 and 8030 is refused with its status and reason, and a gone subscription is 410.

The client half here is written with PyJWT and http-ece, not with the stand-in's code."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from typing import Any

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from devstack.webpush_sandbox.app import create_app

ORIGIN = "http://testserver"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def point(key: ec.EllipticCurvePrivateKey) -> str:
    return b64(key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


SERVER_KEY = ec.generate_private_key(ec.SECP256R1())


def vapid(key: ec.EllipticCurvePrivateKey = SERVER_KEY, **claims: Any) -> str:
    body = {"aud": ORIGIN, "exp": int(time.time()) + 3600, "sub": "mailto:ops@example.com"}
    body.update(claims)
    return f"vapid t={jwt.encode(body, key, algorithm='ES256')}, k={point(key)}"


def encrypt(subscription: dict[str, Any], plaintext: bytes) -> bytes:
    body: bytes = http_ece.encrypt(
        plaintext,
        salt=os.urandom(16),
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=unb64(subscription["keys"]["p256dh"]),
        auth_secret=unb64(subscription["keys"]["auth"]),
        version="aes128gcm",
    )
    return body


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def subscribe(client: TestClient, **body: str) -> dict[str, Any]:
    made = client.post("/subscriptions", json=body or None)
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


def push(
    client: TestClient, subscription: dict[str, Any], body: bytes, **headers: str
) -> tuple[int, str]:
    base = {"Authorization": vapid(), "TTL": "60", "Content-Encoding": "aes128gcm"}
    base.update(headers)
    base = {k: v for k, v in base.items() if v}
    path = subscription["endpoint"].removeprefix(ORIGIN)
    response = client.post(path, content=body, headers=base)
    return response.status_code, response.json()["detail"] if response.content else ""


def test_a_vapid_signed_encrypted_push_is_decrypted_and_recorded(client: TestClient) -> None:
    subscription = subscribe(client)
    assert subscription["endpoint"].startswith(f"{ORIGIN}/push/")
    assert len(unb64(subscription["keys"]["p256dh"])) == 65
    assert len(unb64(subscription["keys"]["auth"])) == 16
    status, _ = push(client, subscription, encrypt(subscription, '{"title": "Заказ"}'.encode()))
    assert status == 201
    [message] = client.get("/messages").json()["messages"]
    assert message["plaintext"] == '{"title": "Заказ"}'
    assert message["vapid_sub"] == "mailto:ops@example.com"
    assert message["ttl"] == 60


OTHER_KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ({"Authorization": ""}, 401, "VAPID"),
        ({"Authorization": "WebPush abc"}, 401, "not 'vapid'"),
        ({"Authorization": vapid(aud="https://push.example.net")}, 401, "aud"),
        ({"Authorization": vapid(exp=int(time.time()) - 10)}, 401, "past"),
        ({"Authorization": vapid(exp=int(time.time()) + 25 * 3600)}, 401, "24 hours"),
        ({"Authorization": vapid(sub="ops@example.com")}, 401, "mailto"),
        # Signed by one key, presented with another's k.
        (
            {"Authorization": vapid().rsplit("k=", 1)[0] + f"k={point(OTHER_KEY)}"},
            401,
            "does not verify",
        ),
        ({"TTL": ""}, 400, "TTL"),
        ({"Content-Encoding": "aesgcm"}, 400, "aes128gcm"),
    ],
)
def test_broken_pushes_are_refused_with_the_reason(
    client: TestClient, headers: dict[str, str], status: int, reason: str
) -> None:
    subscription = subscribe(client)
    got, detail = push(client, subscription, encrypt(subscription, b"x"), **headers)
    assert (got, reason in detail) == (status, True), detail
    assert client.get("/messages").json()["messages"] == []
    [refusal] = client.get("/refusals").json()["refusals"]
    assert refusal["status"] == status


def test_a_body_for_other_keys_does_not_decrypt(client: TestClient) -> None:
    mine, theirs = subscribe(client), subscribe(client)
    status, detail = push(client, mine, encrypt(theirs, b"secret"))
    assert (status, "does not decrypt" in detail) == (400, True)


def test_a_subscription_bound_to_a_server_key_refuses_another(client: TestClient) -> None:
    subscription = subscribe(client, application_server_key=point(SERVER_KEY))
    body = encrypt(subscription, b"x")
    status, detail = push(client, subscription, body, Authorization=vapid(OTHER_KEY))
    assert (status, "application server key" in detail) == (403, True)
    assert push(client, subscription, body)[0] == 201


def test_unsubscribed_is_410_and_unknown_404(client: TestClient) -> None:
    subscription = subscribe(client)
    subscription_id = subscription["endpoint"].rsplit("/", 1)[1]
    assert client.delete(f"/subscriptions/{subscription_id}").status_code == 204
    assert push(client, subscription, encrypt(subscription, b"x"))[0] == 410
    unknown = {**subscription, "endpoint": f"{ORIGIN}/push/nope"}
    assert push(client, unknown, encrypt(subscription, b"x"))[0] == 404
