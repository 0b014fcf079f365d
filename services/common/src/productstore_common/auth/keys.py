"""ES256 signing keys (EC P-256) and their public JWK form (RFC 7517, 7518, 7638).

Product Store signs access tokens with ES256 only, so this module knows one key
type: anything else a JWKS offers is refused here, before it can reach a
signature check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ES256 = "ES256"
_CURVE_NAME = "P-256"
_COORDINATE_BYTES = 32
# A kid is an opaque label; the cap keeps a hostile JWKS or token header from
# making us hold or log arbitrarily long strings.
MAX_KID_LENGTH = 128

PublicKey = ec.EllipticCurvePublicKey
SigningKey = ec.EllipticCurvePrivateKey


class UnsupportedKeyError(ValueError):
    """A key that is not EC P-256, the only key type of ES256."""


class UnusableJwkError(ValueError):
    """A JWK that cannot serve as an ES256 verification key; the message says why."""


def generate_signing_key() -> SigningKey:
    """A new random ES256 (EC P-256) private key."""
    return ec.generate_private_key(ec.SECP256R1())


def signing_key_to_pem(key: SigningKey) -> bytes:
    """`key` as unencrypted PKCS#8 PEM, the form a secret store (Vault KV) keeps."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_signing_key_pem(pem: bytes | str) -> SigningKey:
    """The ES256 private key in PEM `pem`; ValueError if it is any other kind of key."""
    data = pem.encode() if isinstance(pem, str) else pem
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise UnsupportedKeyError("the PEM does not hold an EC P-256 private key")
    return key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    # RFC 7515 base64url has no padding; the alphabet check rejects the standard
    # alphabet's + and / that urlsafe_b64decode would otherwise silently accept.
    if not text.isascii() or not text.replace("-", "").replace("_", "").isalnum():
        raise ValueError("not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not unpadded base64url") from exc


def _coordinates(key: PublicKey | SigningKey) -> tuple[str, str]:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    if not isinstance(public.curve, ec.SECP256R1):
        raise UnsupportedKeyError(f"ES256 needs a P-256 key, not {public.curve.name}")
    numbers = public.public_numbers()
    return (
        _b64url(numbers.x.to_bytes(_COORDINATE_BYTES, "big")),
        _b64url(numbers.y.to_bytes(_COORDINATE_BYTES, "big")),
    )


def jwk_thumbprint(key: PublicKey | SigningKey) -> str:
    """The RFC 7638 SHA-256 thumbprint of the public key: a stable, collision-free kid."""
    x, y = _coordinates(key)
    # RFC 7638 §3.2: the required members only, lexicographic order, no whitespace.
    canonical = json.dumps(
        {"crv": _CURVE_NAME, "kty": "EC", "x": x, "y": y}, separators=(",", ":"), sort_keys=True
    )
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def public_jwk(key: PublicKey | SigningKey, kid: str | None = None) -> dict[str, str]:
    """The public JWK of `key` (a private key contributes only its public half).

    `kid` defaults to the key's RFC 7638 thumbprint.
    """
    x, y = _coordinates(key)
    return {
        "kty": "EC",
        "crv": _CURVE_NAME,
        "x": x,
        "y": y,
        "use": "sig",
        "alg": ES256,
        "kid": kid if kid is not None else jwk_thumbprint(key),
    }


def jwks_document(keys: Mapping[str, PublicKey | SigningKey]) -> dict[str, list[dict[str, str]]]:
    """A JWKS (`{"keys": [...]}`) publishing the public half of each key under its kid."""
    return {"keys": [public_jwk(key, kid) for kid, key in keys.items()]}


def parse_public_jwk(jwk: Any) -> tuple[str, PublicKey]:
    """The kid and public key of an ES256 verification JWK.

    Raises UnusableJwkError for anything else: another key type or curve, an
    algorithm other than ES256, an encryption-only key, a missing or oversized
    kid, malformed coordinates, a point off the curve, or a JWK that carries a
    private part (a key published with `d` is compromised and is never trusted).
    """
    if not isinstance(jwk, Mapping):
        raise UnusableJwkError("a JWK must be a JSON object")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
        raise UnusableJwkError(f"a JWK needs a 'kid' string of 1 to {MAX_KID_LENGTH} characters")
    if jwk.get("kty") != "EC" or jwk.get("crv") != _CURVE_NAME:
        raise UnusableJwkError(f"key {kid!r} is not an EC P-256 key")
    if jwk.get("alg", ES256) != ES256:
        raise UnusableJwkError(f"key {kid!r} is for algorithm {jwk.get('alg')!r}, not ES256")
    if jwk.get("use", "sig") != "sig":
        raise UnusableJwkError(f"key {kid!r} is not a signature key (use={jwk.get('use')!r})")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise UnusableJwkError(f"key {kid!r} does not allow 'verify' in key_ops")
    if "d" in jwk:
        raise UnusableJwkError(f"key {kid!r} exposes its private part; it is not trusted")
    x, y = jwk.get("x"), jwk.get("y")
    if not isinstance(x, str) or not isinstance(y, str):
        raise UnusableJwkError(f"key {kid!r} lacks its 'x'/'y' coordinates")
    try:
        x_bytes, y_bytes = _b64url_decode(x), _b64url_decode(y)
    except ValueError as exc:
        raise UnusableJwkError(f"key {kid!r} has coordinates that are not base64url") from exc
    if len(x_bytes) != _COORDINATE_BYTES or len(y_bytes) != _COORDINATE_BYTES:
        raise UnusableJwkError(f"key {kid!r} has coordinates that are not 32 bytes long")
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x_bytes, "big"), int.from_bytes(y_bytes, "big"), ec.SECP256R1()
    )
    try:
        # cryptography checks that the point lies on the curve (invalid-curve attacks).
        return kid, numbers.public_key()
    except ValueError as exc:
        raise UnusableJwkError(f"key {kid!r} is not a point on P-256") from exc
