"""ES256 keys and their JWK form: round trips, and every JWK the verifier refuses."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from productstore_common.auth.keys import (
    UnsupportedKeyError,
    UnusableJwkError,
    generate_signing_key,
    jwk_thumbprint,
    jwks_document,
    load_signing_key_pem,
    parse_public_jwk,
    public_jwk,
    signing_key_to_pem,
)

KEY = generate_signing_key()
GOOD_JWK = public_jwk(KEY, "k1")


def _b64url_int(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()


def test_public_jwk_round_trips_and_holds_only_the_public_part() -> None:
    assert set(GOOD_JWK) == {"kty", "crv", "x", "y", "use", "alg", "kid"}
    kid, public = parse_public_jwk(GOOD_JWK)
    assert kid == "k1"
    assert public.public_numbers() == KEY.public_key().public_numbers()


def test_thumbprint_is_the_default_kid_and_identifies_the_key() -> None:
    thumbprint = jwk_thumbprint(KEY)
    assert len(thumbprint) == 43  # SHA-256 in unpadded base64url
    assert thumbprint == jwk_thumbprint(KEY.public_key())
    assert public_jwk(KEY)["kid"] == thumbprint
    assert jwk_thumbprint(generate_signing_key()) != thumbprint


def test_jwks_document_publishes_each_key_under_its_kid() -> None:
    other = generate_signing_key()
    document = jwks_document({"old": KEY, "new": other.public_key()})
    assert [jwk["kid"] for jwk in document["keys"]] == ["old", "new"]
    assert all("d" not in jwk for jwk in document["keys"])


def test_signing_key_pem_round_trip() -> None:
    loaded = load_signing_key_pem(signing_key_to_pem(KEY).decode())
    assert loaded.private_numbers() == KEY.private_numbers()


@pytest.mark.parametrize(
    "other_key",
    [
        pytest.param(ec.generate_private_key(ec.SECP384R1()), id="p384"),
        pytest.param(rsa.generate_private_key(public_exponent=65537, key_size=2048), id="rsa"),
    ],
)
def test_only_p256_signing_keys_load(other_key: Any) -> None:
    pem = other_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(UnsupportedKeyError, match="P-256"):
        load_signing_key_pem(pem)


def test_public_jwk_refuses_other_curves() -> None:
    with pytest.raises(UnsupportedKeyError, match="secp384r1"):
        public_jwk(ec.generate_private_key(ec.SECP384R1()))


UNUSABLE_JWKS = [
    pytest.param(["not", "an", "object"], "JSON object", id="not-object"),
    pytest.param({**GOOD_JWK, "kid": None}, "'kid' string", id="kid-missing"),
    pytest.param({**GOOD_JWK, "kid": ""}, "'kid' string", id="kid-empty"),
    pytest.param({**GOOD_JWK, "kid": "k" * 129}, "'kid' string", id="kid-too-long"),
    pytest.param({**GOOD_JWK, "kty": "RSA"}, "not an EC P-256 key", id="kty-rsa"),
    pytest.param({**GOOD_JWK, "kty": "oct"}, "not an EC P-256 key", id="kty-oct"),
    pytest.param({**GOOD_JWK, "crv": "P-384"}, "not an EC P-256 key", id="crv-p384"),
    pytest.param({**GOOD_JWK, "alg": "HS256"}, "not ES256", id="alg-hs256"),
    pytest.param({**GOOD_JWK, "use": "enc"}, "not a signature key", id="use-enc"),
    pytest.param({**GOOD_JWK, "key_ops": ["encrypt"]}, "'verify'", id="key-ops-no-verify"),
    pytest.param({**GOOD_JWK, "d": "AAAA"}, "private part", id="private-part"),
    pytest.param({**GOOD_JWK, "x": None}, "coordinates", id="x-missing"),
    pytest.param({**GOOD_JWK, "x": GOOD_JWK["x"][:-2] + "+/"}, "base64url", id="x-std-b64"),
    pytest.param({**GOOD_JWK, "x": GOOD_JWK["x"] + "="}, "base64url", id="x-padded"),
    pytest.param({**GOOD_JWK, "y": "AAAA"}, "32 bytes", id="y-short"),
    pytest.param({**GOOD_JWK, "y": _b64url_int(7)}, "not a point on P-256", id="off-curve"),
]


@pytest.mark.parametrize(("jwk", "reason"), UNUSABLE_JWKS)
def test_unusable_jwk_is_refused_with_its_reason(jwk: Any, reason: str) -> None:
    with pytest.raises(UnusableJwkError, match=reason):
        parse_public_jwk(jwk)
