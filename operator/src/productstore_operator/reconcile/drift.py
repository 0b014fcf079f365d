"""Drift of one object: the hash of what helm rendered against the hash of the same
fields as the cluster holds them.

Only the fields the rendered object sets are compared: the apiserver adds
defaults (a Service's clusterIP, a container's terminationMessagePath),
controllers add status and annotations, and helm its ownership labels; none
of that is drift. A field the chart sets and someone changed (a ConfigMap
key, a Service port, a Deployment's replicas or image, an AuthorizationPolicy
rule) is. Pure functions: tables test them without a cluster.
"""

from __future__ import annotations

import json
from typing import Any

from productstore_operator.builders.meta import spec_hash

# Ignored on the live side even when rendered: the server's own bookkeeping.
_SERVER_FIELDS = frozenset({"status"})


def _scalar(value: Any) -> Any:
    # The apiserver answers quantities and int-or-string fields as strings where
    # YAML gave numbers (cpu: 1 comes back "1"): compare their spelling.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return value


def canonical(value: Any) -> Any:
    """``value`` without nulls and empty maps or lists (the API omits them), scalars
    in one spelling: what the hash is taken over."""
    if isinstance(value, dict):
        kept = {k: canonical(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return _scalar(value)


def project(live: Any, rendered: Any) -> Any:
    """The part of ``live`` that ``rendered`` speaks about.

    Maps keep the rendered keys; lists of the same length are projected item by
    item; a list whose length changed is kept whole, so it differs.
    """
    if isinstance(rendered, dict) and isinstance(live, dict):
        return {key: project(live.get(key), value) for key, value in rendered.items()}
    if isinstance(rendered, list) and isinstance(live, list) and len(live) == len(rendered):
        return [project(item, want) for item, want in zip(live, rendered, strict=True)]
    return live


def _desired(rendered: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rendered.items() if k not in _SERVER_FIELDS}


def rendered_hash(rendered: dict[str, Any]) -> str:
    """The hash of the object as helm rendered it."""
    return spec_hash(canonical(_desired(rendered)))


def live_hash(live: dict[str, Any], rendered: dict[str, Any]) -> str:
    """The hash of the same fields of the object as the cluster holds it: equal to
    ``rendered_hash(rendered)`` unless one of them was changed."""
    desired = canonical(_desired(rendered))
    return spec_hash(canonical(project(live, desired)))


def first_difference(live: dict[str, Any], rendered: dict[str, Any]) -> str | None:
    """The dotted path of the first rendered field the live object does not match."""
    desired = canonical(_desired(rendered))
    return _difference(canonical(project(live, desired)), desired, "")


def _difference(live: Any, desired: Any, path: str) -> str | None:
    if isinstance(desired, dict) and live is None:
        live = {}  # name the first rendered field that is gone, not its parent
    if isinstance(desired, dict) and isinstance(live, dict):
        for key in sorted(desired):
            found = _difference(live.get(key), desired[key], f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    if isinstance(desired, list) and isinstance(live, list) and len(live) == len(desired):
        for index, (item, want) in enumerate(zip(live, desired, strict=True)):
            found = _difference(item, want, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    return None if live == desired else path or "."
