"""The objects a Helm release rendered, read from ``helm get manifest``.

The drift check compares these with what the cluster holds: a deleted child
is found by name, whatever template made it, so nothing here restates the
chart's logic.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml


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


def parse_manifest(text: str, default_namespace: str) -> list[ObjectRef]:
    """The objects of a multi-document manifest, sorted."""
    refs: list[ObjectRef] = []
    for document in yaml.safe_load_all(text):
        if not isinstance(document, dict) or "kind" not in document:
            continue
        group, _, version = str(document.get("apiVersion", "")).rpartition("/")
        metadata = document.get("metadata") or {}
        refs.append(
            ObjectRef(
                group=group,
                version=version,
                kind=str(document["kind"]),
                namespace=str(metadata.get("namespace") or default_namespace),
                name=str(metadata["name"]),
            )
        )
    return sorted(refs)
