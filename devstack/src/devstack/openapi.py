"""Merge the services' OpenAPI documents into the one the gateway serves.

Pure functions: documents in, document out. Each service keeps the paths it
routes; component names (schemas, security schemes, ...) that two services
define differently are prefixed with the service name in every service that
defines them, and every ``$ref`` of those services is rewritten to match, so
the merged document does not depend on the order services started in.
Identical definitions (the shared problem+json schema, the bearer scheme) are
kept once under their own name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

OPENAPI_VERSION = "3.1.0"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

Document = dict[str, Any]


class OpenAPIMergeError(ValueError):
    """Two services' documents cannot be combined (the same path in both)."""


def _ref_prefix(section: str) -> str:
    return f"#/components/{section}/"


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    """A copy of ``node`` with each ``$ref`` in ``renames`` replaced."""
    if isinstance(node, dict):
        return {
            key: (
                renames.get(value, value)
                if key == "$ref" and isinstance(value, str)
                else _rewrite_refs(value, renames)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def _routed_paths(doc: Document, prefixes: Sequence[str]) -> dict[str, Any]:
    paths: dict[str, Any] = doc.get("paths", {})
    return {p: item for p, item in paths.items() if any(p.startswith(x) for x in prefixes)}


def _operations(paths: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        item[method]
        for item in paths.values()
        for method in HTTP_METHODS
        if isinstance(item, dict) and isinstance(item.get(method), dict)
    ]


def _clashing_names(docs: Mapping[str, Document]) -> dict[str, dict[str, str]]:
    """Per service, ``{old $ref: new $ref}`` for components two services define differently."""
    renames: dict[str, dict[str, str]] = {name: {} for name in docs}
    sections = sorted({s for doc in docs.values() for s in doc.get("components", {})})
    for section in sections:
        seen: dict[str, list[tuple[str, Any]]] = {}
        for name, doc in docs.items():
            for key, value in doc.get("components", {}).get(section, {}).items():
                seen.setdefault(key, []).append((name, value))
        for key, defined in seen.items():
            if any(value != defined[0][1] for _, value in defined[1:]):
                for name, _ in defined:
                    renames[name][_ref_prefix(section) + key] = (
                        _ref_prefix(section) + f"{name}_{key}"
                    )
    return renames


def _shared_operation_ids(docs: Mapping[str, Document]) -> set[str]:
    """operationIds used by more than one operation (they must be unique in a document)."""
    count: dict[str, int] = {}
    for doc in docs.values():
        for operation in _operations(doc["paths"]):
            op_id = operation.get("operationId")
            if isinstance(op_id, str):
                count[op_id] = count.get(op_id, 0) + 1
    return {op_id for op_id, n in count.items() if n > 1}


def merge_documents(
    services: Mapping[str, Document],
    prefixes: Mapping[str, Sequence[str]],
    *,
    title: str = "Product Store API",
    version: str = "0.1.0",
) -> Document:
    """One document for the gateway from ``{service: its /openapi.json}``.

    ``prefixes`` holds each service's routed path prefixes (``/api/auth/``);
    paths outside them (say, a service's own health routes) are left out.
    """
    names = sorted(services)
    renames = _clashing_names({name: services[name] for name in names})
    # Each service's document with only its routed paths and its $refs renamed.
    docs: dict[str, Document] = {}
    for name in names:
        doc = _rewrite_refs(services[name], renames[name])
        doc["paths"] = _routed_paths(doc, prefixes.get(name, ()))
        docs[name] = doc
    shared_ids = _shared_operation_ids(docs)

    merged_paths: dict[str, Any] = {}
    owner: dict[str, str] = {}
    components: dict[str, dict[str, Any]] = {}
    tags: dict[str, dict[str, Any]] = {}
    for name, doc in docs.items():
        for path, item in doc["paths"].items():
            if path in merged_paths:
                raise OpenAPIMergeError(
                    f"path {path} is served by both {owner[path]} and {name}; "
                    "each path belongs to one service"
                )
            merged_paths[path] = item
            owner[path] = name
        for operation in _operations(doc["paths"]):
            operation["x-service"] = name
            if operation.get("operationId") in shared_ids:
                operation["operationId"] = f"{name}_{operation['operationId']}"
        for section, entries in doc.get("components", {}).items():
            target = components.setdefault(section, {})
            for key, value in entries.items():
                ref = _ref_prefix(section) + key
                target[renames[name].get(ref, ref).removeprefix(_ref_prefix(section))] = value
        for tag in doc.get("tags", []):
            tags.setdefault(tag["name"], tag)

    versions = ", ".join(f"{n} {docs[n].get('info', {}).get('version', '?')}" for n in names)
    merged: Document = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": f"All services behind the gateway: {versions or 'none yet'}. "
            "Generated by devstack from each service's /openapi.json.",
        },
        "paths": dict(sorted(merged_paths.items())),
    }
    if components:
        merged["components"] = {s: dict(sorted(e.items())) for s, e in sorted(components.items())}
    if tags:
        merged["tags"] = list(tags.values())
    return merged
