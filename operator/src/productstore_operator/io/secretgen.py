"""New values for the secrets the operator generates (builders/vault.py SECRETS).

Random numbers are not pure, so they live here rather than in the builders.
A value is made only for a secret Vault does not hold yet. The auth service's
signing keys are not among them: auth creates and rotates those itself.
"""

from __future__ import annotations

import secrets
from typing import Any

from productstore_operator.builders.naming import StoreRef, keyspace


def generate_secret(kind: str, store: StoreRef) -> dict[str, Any]:
    """A fresh value of a secret of ``kind`` for ``store``."""
    if kind == "cassandra-credentials":
        # services/common reads /vault/secrets/cassandra as {"username", "password"}.
        return {"username": keyspace(store), "password": secrets.token_urlsafe(32)}
    if kind == "search-cursor-key":
        # The catalog reads /vault/secrets/search_cursor {"key"} as CATALOG_SEARCH_CURSOR_KEY.
        return {"key": secrets.token_urlsafe(32)}
    raise ValueError(f"no generator for secrets of kind {kind!r}")
