"""The ProductStore CustomResourceDefinition, generated from the pydantic models.

pydantic writes JSON Schema 2020-12; the apiserver wants a *structural*
OpenAPI v3 schema: no ``$ref``, no ``anyOf`` except int-or-string, a ``type``
on every node, no ``additionalProperties: false``. ``structural_schema`` does
that translation and refuses anything it does not know, so a new kind of field
fails here, loudly, rather than in the apiserver.

``python -m productstore_operator.crd [--output FILE]`` prints the CRD as YAML
(``make crds`` writes crds/productstore.io_productstores.yaml).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from productstore_operator.files import emit
from productstore_operator.models import ProductStoreSpec, ProductStoreStatus
from productstore_operator.models.resource import (
    CATEGORIES,
    CRD_NAME,
    GROUP,
    KIND,
    PLURAL,
    SHORT_NAMES,
    SINGULAR,
    VERSION,
)

HEADER = (
    "# Generated from productstore_operator.models by `make crds`"
    " (python -m productstore_operator.crd). Do not edit.\n"
)

# Store names prefix the names of the store's Services and Helm release, which
# must be DNS-1035 labels of at most 63 characters (53 for a release).
MAX_NAME_LENGTH = 40

# Keywords the apiserver's structural schemas accept, beyond x-kubernetes-*.
_KEYWORDS = frozenset(
    {
        "type",
        "description",
        "default",
        "enum",
        "format",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "properties",
        "additionalProperties",
        "items",
        "required",
        "anyOf",
    }
)
_INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]


class SchemaError(ValueError):
    """The models use a JSON Schema construct that has no structural equivalent."""


def default_value(model: BaseModel) -> dict[str, Any]:
    """The CRD ``default`` of an object field whose default is ``model``.

    Usually only what differs from the model's own field defaults (often
    ``{}``): the apiserver fills in the rest from the nested schema. But the
    apiserver checks a default against the CEL rules of its object before any
    nested default applies, so a model with rules gets every field spelled out.
    """
    spelled_out = bool(getattr(model, "cel_checks", ()))
    dumped = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    default: dict[str, Any] = {}
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        key = field.alias or name
        if value is None or (
            not spelled_out and value == field.get_default(call_default_factory=True)
        ):
            continue
        default[key] = default_value(value) if isinstance(value, BaseModel) else dumped[key]
    return default


class _CrdJsonSchema(GenerateJsonSchema):
    """pydantic's generator, but defaults from ``default_factory`` appear too.

    The apiserver applies nested defaults only under a parent that exists, so
    an object field needs a default (often ``{}``) for its fields' defaults to land.
    """

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is None or schema.get("default_factory_takes_data"):
            return super().get_default_value(schema)
        value = factory()  # type: ignore[call-arg]
        return default_value(value) if isinstance(value, BaseModel) else value


def _json_schema(model: type[BaseModel]) -> JsonSchemaValue:
    return model.model_json_schema(
        by_alias=True, mode="validation", schema_generator=_CrdJsonSchema
    )


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of ``model``, as the CRD embeds it."""
    schema = _json_schema(model)
    return _convert(schema, schema.get("$defs", {}), model.__name__)


def _convert(node: JsonSchemaValue, defs: dict[str, Any], where: str) -> dict[str, Any]:
    node = {key: value for key, value in node.items() if key not in ("title", "$defs")}
    resolved = _resolve(node, defs, where)
    if resolved is not None:
        _check_keywords(resolved, where)
        return resolved
    for bound in ("exclusiveMinimum", "exclusiveMaximum"):
        # JSON Schema 2020-12 gives the bound; OpenAPI v3.0 a flag beside minimum/maximum.
        if isinstance(node.get(bound), int | float) and not isinstance(node[bound], bool):
            node[bound.replace("exclusiveM", "m")] = node[bound]
            node[bound] = True
    _check_keywords(node, where)
    if node.get("type") == "object":
        _convert_object(node, defs, where)
    if node.get("type") == "array":
        node["items"] = _convert(node["items"], defs, f"{where}[]")
    return node


def _resolve(node: dict[str, Any], defs: dict[str, Any], where: str) -> dict[str, Any] | None:
    """Inline a ``$ref`` or unwrap an Optional; None when ``node`` is neither."""
    if "$ref" in node:
        target = defs[node.pop("$ref").removeprefix("#/$defs/")]
        # The field's own keys (description, default) win over the model's.
        return {**_convert(target, defs, where), **node}
    if "anyOf" in node and node["anyOf"] != _INT_OR_STRING:
        variants = [v for v in node.pop("anyOf") if v != {"type": "null"}]
        if len(variants) != 1:
            raise SchemaError(f"{where}: a union of {len(variants)} types has no structural form")
        if node.get("default", 0) is None:
            # Optional field: absent means None; the CRD does not allow null.
            del node["default"]
        return {**_convert(variants[0], defs, where), **node}
    return None


def _check_keywords(node: dict[str, Any], where: str) -> None:
    unknown = {k for k in node if k not in _KEYWORDS and not k.startswith("x-kubernetes-")}
    if unknown:
        raise SchemaError(f"{where}: unsupported JSON Schema keywords {sorted(unknown)}")
    if "type" not in node and not node.get("x-kubernetes-int-or-string"):
        raise SchemaError(f"{where}: no type")


def _convert_object(node: dict[str, Any], defs: dict[str, Any], where: str) -> None:
    if node.get("additionalProperties") is False:
        # Structural schemas forbid it; the apiserver prunes unknown fields instead.
        del node["additionalProperties"]
    elif isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = _convert(node["additionalProperties"], defs, f"{where}[*]")
    properties: dict[str, Any] = {}
    for name, child in node.get("properties", {}).items():
        converted = _convert(child, defs, f"{where}.{name}")
        if not converted.get("description"):
            raise SchemaError(f"{where}.{name}: every field needs a description")
        properties[name] = converted
    if properties:
        node["properties"] = properties


def _printer_columns() -> list[dict[str, Any]]:
    return [
        {
            "name": "Ready",
            "type": "string",
            "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
            "description": "Whether the whole store is ready.",
        },
        {
            "name": "Phase",
            "type": "string",
            "jsonPath": ".status.phase",
            "description": "Where the store is in its life.",
        },
        {
            "name": "Version",
            "type": "string",
            "jsonPath": ".status.version",
            "description": "Product Store release the services run now.",
        },
        {
            "name": "Cassandra",
            "type": "string",
            "jsonPath": ".spec.cassandra.mode",
            "description": "Where Cassandra comes from.",
            "priority": 1,
        },
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]


def resource_schema() -> dict[str, Any]:
    """The openAPIV3Schema of a whole ProductStore object."""
    return {
        "type": "object",
        "description": (
            "A Product Store: the e-commerce services, their Cassandra, Kafka topics, "
            "mesh policies, autoscaling and secrets, kept converged by the operator."
        ),
        "required": ["spec"],
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": "API version, productstore.io/v1alpha1.",
            },
            "kind": {"type": "string", "description": "ProductStore."},
            "metadata": {"type": "object"},
            "spec": structural_schema(ProductStoreSpec),
            "status": structural_schema(ProductStoreStatus),
        },
        "x-kubernetes-validations": [
            {
                "rule": (
                    f"size(self.metadata.name) <= {MAX_NAME_LENGTH} && "
                    "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')"
                ),
                "message": (
                    f"metadata.name must be at most {MAX_NAME_LENGTH} characters of a-z, 0-9 "
                    "and '-', starting with a letter: it prefixes the store's resource names"
                ),
            }
        ],
    }


def build_crd() -> dict[str, Any]:
    """The apiextensions.k8s.io/v1 CustomResourceDefinition of ProductStore."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": CRD_NAME,
            "labels": {"app.kubernetes.io/part-of": "productstore"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": SINGULAR,
                "shortNames": list(SHORT_NAMES),
                "categories": list(CATEGORIES),
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": resource_schema()},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": _printer_columns(),
                }
            ],
        },
    }


def render_crd() -> str:
    """The CRD as the YAML file committed in crds/."""
    return HEADER + yaml.safe_dump(build_crd(), sort_keys=True, width=100)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m productstore_operator.crd",
        description="Print the ProductStore CRD as YAML.",
    )
    parser.add_argument("--output", "-o", type=Path, help="write to FILE instead of stdout")
    args = parser.parse_args(argv)
    emit(render_crd(), args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
