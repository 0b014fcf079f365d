"""The objects a Helm release rendered, read from ``helm get manifest``.

The drift check compares these with what the cluster holds: a deleted child
is found by name and an edited one by the hash of its fields, whatever
template made it, so nothing here restates the chart's logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from productstore_operator.reconcile.drift import rendered_hash


@dataclass(frozen=True, order=True)
class ObjectRef:
    """One namespaced object: enough to list its kind and find it by name."""

    group: str
    version: str
    kind: str
    namespace: str
    name: str

    @property
    def plural(self) -> str:
        """The resource name of the kind (every kind the chart renders follows these rules)."""
        lower = self.kind.lower()
        if lower.endswith("y"):
            return lower[:-1] + "ies"
        if lower.endswith("s"):
            return lower + "es"
        return lower + "s"

    @property
    def resource(self) -> tuple[str, str, str, str]:
        """(group, version, plural, namespace): what one list call returns."""
        return (self.group, self.version, self.plural, self.namespace)

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True, order=True)
class RenderedObject:
    """One object of the manifest and the document helm applied for it."""

    ref: ObjectRef
    body: dict[str, Any] = field(compare=False)
    # rendered_hash(body), taken once: a revision's manifest never changes.
    hash: str = field(compare=False)


def parse_manifest(text: str, default_namespace: str) -> list[RenderedObject]:
    """The objects of a multi-document manifest, sorted by reference."""
    objects: list[RenderedObject] = []
    for document in yaml.safe_load_all(text):
        if not isinstance(document, dict) or "kind" not in document:
            continue
        group, _, version = str(document.get("apiVersion", "")).rpartition("/")
        metadata = document.get("metadata") or {}
        ref = ObjectRef(
            group=group,
            version=version,
            kind=str(document["kind"]),
            namespace=str(metadata.get("namespace") or default_namespace),
            name=str(metadata["name"]),
        )
        objects.append(RenderedObject(ref, document, rendered_hash(document)))
    return sorted(objects)
