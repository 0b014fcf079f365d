"""Specs, the chart's schema and a Helm-like merge for the builder tests."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from productstore_operator.builders import OperatorSettings, StoreRef, VaultSettings, VaultTarget
from productstore_operator.models import ProductStoreSpec
from tests.operator.spec_cases import SAMPLES, load_sample, spec_with
from tests.support.helm import HelmCli

CHART = Path(__file__).resolve().parents[3] / "charts" / "productstore"
# The operator's configured Vaults: "default" as the chart's values give it, and "eu"
# with every name of its own, so a table can tell which one a store's values came from.
VAULTS = {
    "default": VaultTarget(name="default", pod_address="https://vault.vault.svc:8200"),
    "eu": VaultTarget(
        name="eu",
        pod_address="https://vault.eu.example:8200",
        auth_mount="k8s-east",
        kv_mount="kv",
        kv_path="stores/eu",
        role_prefix="ps",
    ),
}
SETTINGS = OperatorSettings(vault=VaultSettings(servers=VAULTS))
NAMESPACE = "shop-ns"


def sample(name: str) -> tuple[ProductStoreSpec, StoreRef]:
    document = load_sample(name)
    spec = ProductStoreSpec.model_validate(document["spec"])
    return spec, StoreRef(document["metadata"]["name"], NAMESPACE)


def spec(changes: dict[str, Any]) -> ProductStoreSpec:
    """The minimal sample with dotted-path changes (see spec_cases.spec_with)."""
    return ProductStoreSpec.model_validate(spec_with(changes))


SAMPLE_IDS = [name.removeprefix("productstore-") for name in SAMPLES]


@cache
def chart_schema() -> dict[str, Any]:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert isinstance(schema, dict)
    return schema


@cache
def chart_defaults() -> dict[str, Any]:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert isinstance(defaults, dict)
    return defaults


def coalesce(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """What helm validates and renders: overrides merged into the defaults map
    by map, a null override deleting the default's key."""
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = coalesce(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def without_required(schema: Any) -> Any:
    """The schema with every "required" dropped: checks that each key a builder
    writes is one the chart knows, with the right type, without asking the
    builder to restate the chart's defaults."""
    if isinstance(schema, dict):
        return {k: without_required(v) for k, v in schema.items() if k != "required"}
    if isinstance(schema, list):
        return [without_required(item) for item in schema]
    return schema


def without_nulls(values: Any) -> Any:
    if isinstance(values, dict):
        return {k: without_nulls(v) for k, v in values.items() if v is not None}
    return values


def render(
    helm: HelmCli, values: dict[str, Any], store: StoreRef, tmp_path: Path, *extra: str
) -> dict[tuple[str, str], dict[str, Any]]:
    """``helm template`` of the chart with ``values``: the objects by (kind, name)."""
    values_file = tmp_path / "values.json"
    values_file.write_text(json.dumps(values))
    out = helm.run(
        "template",
        store.name,
        str(CHART),
        "--namespace",
        store.namespace,
        "--values",
        str(values_file),
        *extra,
    ).stdout
    objects = [doc for doc in yaml.safe_load_all(out) if doc]
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in objects}
