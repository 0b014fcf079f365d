"""Labels and the spec-hash annotation every built object carries."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from productstore_operator.builders.naming import StoreRef

SPEC_HASH_ANNOTATION: Final = "productstore.io/spec-hash"
MANAGED_BY: Final = "productstore-operator"


def canonical_json(document: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def spec_hash(document: Any) -> str:
    """SHA-256 of the canonical JSON: equal documents, equal hashes."""
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


def labels(store: StoreRef, component: str) -> dict[str, str]:
    """Labels of one child: who owns it and what it is."""
    return {
        "app.kubernetes.io/name": "productstore",
        "app.kubernetes.io/instance": store.name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "productstore",
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def stamped(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the spec-hash annotation of everything else in it.

    The hash leaves out the annotation itself, so stamping an already stamped
    body gives the same hash, and a live object compares by its annotation.
    """
    metadata = dict(body.get("metadata", {}))
    annotations = {
        key: value
        for key, value in metadata.get("annotations", {}).items()
        if key != SPEC_HASH_ANNOTATION
    }
    metadata["annotations"] = annotations
    unstamped = {**body, "metadata": metadata}
    digest = spec_hash(unstamped)
    return {
        **body,
        "metadata": {**metadata, "annotations": {**annotations, SPEC_HASH_ANNOTATION: digest}},
    }
