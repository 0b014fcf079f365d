"""Access-token verification through a real app and the real JWKS client.

Every way a token can be wrong answers 401 problem+json naming the failed check;
the accepted token yields the Principal its claims describe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from productstore_common.auth import (
    JwksClient,
    access_token_claims,
    sign_access_token,
    verify_access_token,
)
from productstore_common.auth.keys import SigningKey, generate_signing_key
from productstore_common.auth.tokens import MAX_TOKEN_BYTES
from tests.common.auth.conftest import Mint
from tests.common.auth.support import AUDIENCE, ISSUER, JwksServer, b64url, compact

ForgeToken = Callable[[Mint, SigningKey, str], str]


def _claims() -> dict[str, object]:
    return access_token_claims(
        issuer=ISSUER, audience=AUDIENCE, subject="mallory", token_type="user", roles=["admin"]
    )


def _hs256_with_public_key(mint: Mint, key: SigningKey, kid: str) -> str:
    # The classic key-confusion attack: the verifier's public key used as an HMAC secret.
    secret = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = compact({"alg": "HS256", "typ": "at+jwt", "kid": kid}, _claims())
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def _rs256(mint: Mint, key: SigningKey, kid: str) -> str:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(_claims(), rsa_key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})


def _es384(mint: Mint, key: SigningKey, kid: str) -> str:
    p384 = ec.generate_private_key(ec.SECP384R1())
    return jwt.encode(_claims(), p384, algorithm="ES384", headers={"kid": kid, "typ": "at+jwt"})


def _es256(headers: dict[str, object]) -> ForgeToken:
    return lambda mint, key, kid: jwt.encode(_claims(), key, algorithm="ES256", headers=headers)


def _tampered(mint: Mint, key: SigningKey, kid: str) -> str:
    header, _, signature = mint().split(".")
    forged_payload = b64url(json.dumps(_claims()).encode())
    return f"{header}.{forged_payload}.{signature}"


def _payload_not_object(mint: Mint, key: SigningKey, kid: str) -> str:
    return jwt.PyJWS().encode(
        b"[1, 2]", key, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"}
    )


def _missing(claim: str) -> ForgeToken:
    return lambda mint, key, kid: mint(drop=[claim])


def _now() -> int:
    return int(time.time())


# (id, token factory, reason, a phrase the detail must contain)
REJECTIONS: list[tuple[str, ForgeToken, str, str]] = [
    ("empty-segments", lambda m, k, i: "..", "malformed", "not a well-formed JWT"),
    ("not-a-jwt", lambda m, k, i: "not-a-jwt", "malformed", "not a well-formed JWT"),
    ("garbage-segments", lambda m, k, i: "a.b.c", "malformed", "not a well-formed JWT"),
    ("header-not-json", lambda m, k, i: f"{b64url(b'{nope')}.e30.sig", "malformed", "well-formed"),
    ("too-large", lambda m, k, i: "a" * (MAX_TOKEN_BYTES + 1), "too_large", "longer than 8192"),
    (
        "alg-none",
        lambda m, k, i: compact({"alg": "none", "typ": "at+jwt", "kid": i}, _claims()) + ".",
        "algorithm",
        "unsigned (alg 'none')",
    ),
    ("hs256-public-key-secret", _hs256_with_public_key, "algorithm", "signed with 'HS256'"),
    ("rs256", _rs256, "algorithm", "signed with 'RS256'"),
    ("es384", _es384, "algorithm", "signed with 'ES384'"),
    (
        "invented-alg",
        lambda m, k, i: (
            compact({"alg": "X<script>", "typ": "at+jwt", "kid": i}, _claims()) + ".e30"
        ),
        "algorithm",
        "signed with an unsupported algorithm",
    ),
    ("typ-jwt", _es256({"typ": "JWT"}), "token_type_header", "'typ' header must be 'at+jwt'"),
    ("typ-missing", _es256({"typ": None}), "token_type_header", "not an access token"),
    ("kid-missing", _es256({"typ": "at+jwt"}), "missing_kid", "no 'kid' header"),
    (
        "kid-unknown",
        _es256({"typ": "at+jwt", "kid": "retired-key"}),
        "unknown_kid",
        "not one of the auth service's keys",
    ),
    (
        "kid-oversized",
        _es256({"typ": "at+jwt", "kid": "k" * 500}),
        "unknown_kid",
        "not one of the auth service's keys",
    ),
    (
        "other-key-same-kid",
        lambda m, k, i: m(key=generate_signing_key()),
        "signature",
        "signature does not verify",
    ),
    ("tampered-payload", _tampered, "signature", "signature does not verify"),
    ("payload-not-object", _payload_not_object, "malformed", "payload is not a JSON object"),
    ("wrong-issuer", lambda m, k, i: m(iss="https://evil.test"), "issuer", "'iss' mismatch"),
    ("wrong-audience", lambda m, k, i: m(audience="inventory"), "audience", "'aud' mismatch"),
    (
        "expired",
        lambda m, k, i: m(iat=_now() - 4000, nbf=_now() - 4000, exp=_now() - 3600),
        "expired",
        "has expired",
    ),
    (
        "expired-beyond-leeway",
        lambda m, k, i: m(iat=_now() - 900, nbf=_now() - 900, exp=_now() - 45),
        "expired",
        "has expired",
    ),
    ("nbf-future", lambda m, k, i: m(nbf=_now() + 3600), "not_yet_valid", "'nbf' is in the future"),
    ("iat-future", lambda m, k, i: m(iat=_now() + 3600), "not_yet_valid", "'iat' is in the future"),
    *[
        (f"missing-{claim}", _missing(claim), "missing_claim", f"required claim '{claim}'")
        for claim in ("iss", "sub", "aud", "exp", "iat", "jti", "token_type")
    ],
    ("unknown-role", lambda m, k, i: m(roles=["root"]), "invalid_claim", "claim 'roles'"),
    ("roles-not-list", lambda m, k, i: m(roles="admin"), "invalid_claim", "claim 'roles'"),
    ("token-type-robot", lambda m, k, i: m(token_type="robot"), "invalid_claim", "'token_type'"),
    ("exp-string", lambda m, k, i: m(exp="tomorrow"), "invalid_claim", "claim 'exp'"),
    ("exp-infinite", lambda m, k, i: m(exp=float("inf")), "invalid_claim", "claim 'exp'"),
    ("sub-empty", lambda m, k, i: m(subject=""), "invalid_claim", "claim 'sub'"),
    ("aud-empty-list", lambda m, k, i: m(aud=[]), "invalid_claim", "claim 'aud'"),
]


@pytest.mark.parametrize("case", [pytest.param((f, r, p), id=i) for i, f, r, p in REJECTIONS])
def test_rejected_token_is_401_problem_naming_the_check(
    client: TestClient,
    mint: Mint,
    signing_key: SigningKey,
    kid: str,
    case: tuple[ForgeToken, str, str],
) -> None:
    forge, reason, phrase = case
    token = forge(mint, signing_key, kid)

    response = client.get("/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 401
    assert problem["title"] == "Unauthorized"
    assert problem["reason"] == reason
    assert phrase in problem["detail"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="productstore", error="invalid_token"')
    assert "error_description=" in challenge
    # No piece of the presented token comes back (long segments would be recognisable).
    for segment in token.split("."):
        if len(segment) > 16:
            assert segment[:16] not in response.text


def test_valid_token_yields_its_principal(client: TestClient, mint: Mint) -> None:
    token = mint(subject="user-42", roles=["admin", "user"], scope="orders:read orders:write")

    response = client.get("/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.text
    assert response.json() == {
        "sub": "user-42",
        "token_type": "user",
        "roles": ["admin", "user"],
        "scopes": ["orders:read", "orders:write"],
        "aud": [AUDIENCE],
    }


def test_expiry_within_leeway_is_tolerated(client: TestClient, mint: Mint) -> None:
    # Clock skew between the auth service and us: 10 s late is inside the 30 s leeway.
    token = mint(iat=_now() - 900, nbf=_now() - 900, exp=_now() - 10)

    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.anyio
async def test_verify_returns_every_claim_of_the_principal(
    jwks_server: JwksServer, signing_key: SigningKey, kid: str
) -> None:
    issued = datetime.now(UTC).replace(microsecond=0)
    claims = access_token_claims(
        issuer=ISSUER,
        audience=["productstore", "catalog"],
        subject="orders",
        token_type="service",
        scopes=["stock:reserve"],
        lifetime=timedelta(minutes=5),
        now=issued,
        jti="jti-1",
    )
    token = sign_access_token(claims, signing_key, kid)

    async with JwksClient(jwks_server.url) as jwks:
        principal = await verify_access_token(
            token, jwks=jwks, issuer=ISSUER, audience={"catalog"}, leeway=0
        )

    assert principal.sub == "orders"
    assert principal.token_type == "service"
    assert principal.roles == frozenset()
    assert principal.scopes == frozenset({"stock:reserve"})
    assert principal.aud == ("productstore", "catalog")
    assert principal.exp == issued + timedelta(minutes=5)
    assert principal.jti == "jti-1"
