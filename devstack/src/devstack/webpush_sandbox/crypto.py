"""The two checks a push service and a browser make, written from the RFCs.

- RFC 8292 (VAPID): ``Authorization: vapid t=<JWT>, k=<public key>``; the JWT is
  ES256-signed with the key ``k`` (an uncompressed P-256 point, base64url), its
  ``aud`` is the push resource's origin and its ``exp`` at most 24 hours ahead.
- RFC 8291 / RFC 8188 (``Content-Encoding: aes128gcm``): the body's header carries
  the salt, record size and the sender's ephemeral public key; with the
  subscription's private key and auth secret the receiver derives the content key
  and nonce and opens the one record.

Written independently of any client library (the notifications service encrypts
with http-ece and signs with PyJWT), so the two cannot agree on a shared mistake.
"""

from __future__ import annotations

import base64
import json
import struct
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MAX_EXPIRY_SECONDS = 24 * 3600
# RFC 8291 section 4: a push message's payload is at most 4096 octets encrypted.
MAX_PAYLOAD_BYTES = 4096


class PushRefused(Exception):  # noqa: N818 - the refusal, answered with its status
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _point(raw: bytes, what: str) -> ec.EllipticCurvePublicKey:
    if len(raw) != 65 or raw[0] != 4:
        raise PushRefused(401 if what == "k" else 400, f"{what} is not an uncompressed P-256 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise PushRefused(401 if what == "k" else 400, f"{what} is not on P-256") from None


@dataclass(frozen=True)
class Vapid:
    public_key: str  # k, base64url
    claims: dict[str, Any]


def check_vapid(authorization: str | None, origin: str, now: float | None = None) -> Vapid:
    """The verified VAPID credentials of a push request to a resource at ``origin``."""
    if not authorization:
        raise PushRefused(401, "no Authorization header: VAPID (RFC 8292) is required")
    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise PushRefused(401, f"Authorization scheme {scheme!r} is not 'vapid' (RFC 8292)")
    found: dict[str, str] = {}
    for part in params.split(","):
        name, _, value = part.strip().partition("=")
        found[name.strip().lower()] = value.strip()
    if "t" not in found or "k" not in found:
        raise PushRefused(401, "the vapid Authorization needs both t= (the JWT) and k= (the key)")
    key = _point(b64url_decode(found["k"]), "k")
    pieces = found["t"].split(".")
    if len(pieces) != 3:
        raise PushRefused(401, "t= is not a JWS compact serialisation")
    try:
        header = json.loads(b64url_decode(pieces[0]))
        claims = json.loads(b64url_decode(pieces[1]))
        signature = b64url_decode(pieces[2])
    except ValueError:
        raise PushRefused(401, "t= is not base64url JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "ES256":
        raise PushRefused(401, "the JWT's alg must be ES256")
    if len(signature) != 64:
        raise PushRefused(401, "an ES256 signature is 64 octets (r || s)")
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        key.verify(der, f"{pieces[0]}.{pieces[1]}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise PushRefused(401, "the JWT's signature does not verify with k") from None
    _check_claims(claims, origin, time.time() if now is None else now)
    return Vapid(public_key=found["k"], claims=claims)


def _check_claims(claims: object, origin: str, moment: float) -> None:
    if not isinstance(claims, dict):
        raise PushRefused(401, "the JWT's claims are not an object")
    if claims.get("aud") != origin:
        raise PushRefused(401, f"aud {claims.get('aud')!r} is not this push service ({origin})")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= moment:
        raise PushRefused(401, "exp is missing or in the past")
    if exp > moment + MAX_EXPIRY_SECONDS:
        raise PushRefused(401, "exp is more than 24 hours ahead (RFC 8292 section 2)")
    sub = claims.get("sub")
    if sub is not None and not (isinstance(sub, str) and sub.startswith(("mailto:", "https:"))):
        raise PushRefused(401, "sub must be a mailto: or https: URI")


def decrypt(body: bytes, receiver: ec.EllipticCurvePrivateKey, auth_secret: bytes) -> bytes:
    """The plaintext of an aes128gcm push message body (one record)."""
    if len(body) < 21:
        raise PushRefused(400, "the body is shorter than an aes128gcm header")
    salt, record_size, id_length = body[:16], struct.unpack(">I", body[16:20])[0], body[20]
    sender = _point(body[21 : 21 + id_length], "the header's keyid")
    records = body[21 + id_length :]
    if record_size < 18 or len(records) > record_size:
        raise PushRefused(400, "a push message is one aes128gcm record")
    ua_public = public_bytes(receiver.public_key())
    shared = receiver.exchange(ec.ECDH(), sender)
    ikm = HKDF(
        hashes.SHA256(),
        32,
        salt=auth_secret,
        info=b"WebPush: info\x00" + ua_public + public_bytes(sender),
    ).derive(shared)
    cek = HKDF(hashes.SHA256(), 16, salt=salt, info=b"Content-Encoding: aes128gcm\x00").derive(ikm)
    nonce = HKDF(hashes.SHA256(), 12, salt=salt, info=b"Content-Encoding: nonce\x00").derive(ikm)
    try:
        padded = AESGCM(cek).decrypt(nonce, records, None)
    except InvalidTag:
        raise PushRefused(
            400, "the record does not decrypt with this subscription's keys"
        ) from None
    data = padded.rstrip(b"\x00")
    if not data or data[-1] != 2:
        raise PushRefused(400, "the last record's padding delimiter is not 0x02")
    return data[:-1]
