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

import re
from decimal import Decimal
from typing import Any, Final

from productstore_operator.builders.meta import spec_hash

# Not compared: the kind is how the object was found (a list's items carry no
# apiVersion or kind), the status is the server's.
_NOT_COMPARED: Final = frozenset({"apiVersion", "kind", "status"})


# A Kubernetes quantity (resource.Quantity): the apiserver stores its canonical
# spelling, so a spec's cpu "0.5" or 1 comes back "500m" or "1".
_QUANTITY: Final = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$"
)
_SUFFIXES: Final = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    **{f"{p}i": Decimal(1024) ** (n + 1) for n, p in enumerate("KMGTPE")},
}


def _scalar(value: Any) -> Any:
    # Numbers and quantities compare by value: "500m" == "0.5" == 0.5, 1 == "1".
    # Anything else (a version "0.1.0", a duration "3s") by its spelling.
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str) or not (match := _QUANTITY.match(value)):
        return value
    suffix = match["suffix"] or ""
    try:
        if suffix[:1] in {"e", "E"}:
            number = Decimal(match["number"]) * Decimal(10) ** int(suffix[1:])
        else:
            number = Decimal(match["number"]) * _SUFFIXES[suffix]
    except ArithmeticError:  # decimal's InvalidOperation and Overflow among them
        return value
    return f"#{number.normalize()}"


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
    return {k: v for k, v in rendered.items() if k not in _NOT_COMPARED}


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
