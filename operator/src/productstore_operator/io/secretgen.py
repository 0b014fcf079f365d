"""New values for the secrets the operator generates (builders/vault.py SECRETS).

Random numbers are not pure, so they live here rather than in the builders.
A value is made only for a secret Vault does not hold yet. The auth service's
signing keys are not among them: auth creates and rotates those itself.
"""

from __future__ import annotations

import secrets
from typing import Any

from productstore_operator.builders.naming import StoreRef, service_keyspace
from productstore_operator.builders.vault import GeneratedSecret


def generate_secret(secret: GeneratedSecret, store: StoreRef) -> dict[str, Any]:
    """A fresh value of ``secret`` for ``store``."""
    if secret.kind == "cassandra-credentials":
        # services/common reads /vault/secrets/cassandra as {"username", "password"};
        # the role is named after the service's keyspace, the chart's
        # CASSANDRA_KEYSPACE (<prefix>_<service>).
        if secret.service is None:
            raise ValueError(f"Cassandra credentials {secret.key!r} name no service")
        return {
            "username": service_keyspace(store, secret.service),
            "password": secrets.token_urlsafe(32),
        }
    if secret.kind == "random":
        # e.g. the catalog reads /vault/secrets/search_cursor {"key"} as
        # CATALOG_SEARCH_CURSOR_KEY.
        return {field: secrets.token_urlsafe(32) for field in secret.fields}
    raise ValueError(f"no generator for secrets of kind {secret.kind!r}")
