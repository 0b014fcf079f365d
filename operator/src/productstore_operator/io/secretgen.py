"""New values for the secrets the operator generates (builders/vault.py SECRETS).

Random numbers are not pure, so they live here rather than in the builders.
A value is made only for a secret Vault does not hold yet.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from productstore_operator.builders.naming import StoreRef, keyspace

# The auth service's signing-key document (productstore_auth.app.core.keys,
# DOCUMENT_FORMAT 1): auth reads and rotates it; the operator writes the first one
# so the Pods' Vault agent has something to render before auth ever ran.
SIGNING_KEY_FORMAT = 1


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _signing_key_document(now: datetime) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    # RFC 7638 thumbprint as kid: the members in lexicographic order, no whitespace.
    jwk = {
        "crv": "P-256",
        "kty": "EC",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }
    kid = _b64url(
        hashlib.sha256(json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()).digest()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    stamp = now.isoformat()
    # The KV entry is the document itself, as the auth service's key store reads it.
    return {
        "format": SIGNING_KEY_FORMAT,
        "keys": [{"kid": kid, "private_key_pem": pem, "created_at": stamp, "activates_at": stamp}],
    }


def generate_secret(kind: str, store: StoreRef) -> dict[str, Any]:
    """A fresh value of a secret of ``kind`` for ``store``."""
    if kind == "cassandra-credentials":
        # services/common reads /vault/secrets/cassandra as {"username", "password"}.
        return {"username": keyspace(store), "password": secrets.token_urlsafe(32)}
    if kind == "es256-signing-key":
        return _signing_key_document(datetime.now(UTC))
    raise ValueError(f"no generator for secrets of kind {kind!r}")
