"""make_plan: everything a pass applies is built, or the spec is refused, before any I/O."""

from __future__ import annotations

from typing import Any

import pytest

from productstore_operator.builders import InvalidSpecError, OperatorSettings
from productstore_operator.reconcile.plan import make_plan
from tests.operator.spec_cases import SAMPLES, load_sample, spec_with

SETTINGS = OperatorSettings()


def plan(spec: dict[str, Any], name: str = "shop") -> Any:
    return make_plan(
        name=name, namespace="ns", uid="uid-1", generation=3, spec=spec, settings=SETTINGS
    )


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_sample_plans(sample: str) -> None:
    document = load_sample(sample)
    built = plan(document["spec"])
    assert built.release == "shop"
    assert built.values["fullnameOverride"] == "shop"
    assert (
        built.role_prefix
        == f"{document['spec']['vault'].get('rolePrefix', 'productstore')}-ns-shop-"
    )
    assert (built.k8ssandra is None) == (
        document["spec"].get("cassandra", {}).get("mode") == "external"
    )
    assert {role.name.removeprefix(built.role_prefix) for role in built.vault.roles} == set(
        built.spec.services.enabled()
    )


@pytest.mark.parametrize(
    ("spec", "name", "message"),
    [
        # Beyond the schema: a running service calls a disabled one.
        (
            spec_with({"services.auth.enabled": False}),
            "shop",
            "catalog calls auth, but services.auth.enabled is false",
        ),
        # A store name too long for its children's names.
        (spec_with({}), "s" * 41, "at most 40 characters"),
        # What the apiserver would refuse too, if it reached the operator anyway.
        (spec_with({"services.auth.replicas": 0}), "shop", "spec.services.auth.replicas"),
        (spec_with({"version": "latest"}), "shop", "spec.version"),
        # A store created under an older CRD: an unbuilt service or mode is refused.
        (
            spec_with({"services.orders.enabled": True}),
            "shop",
            "only auth, catalog and inventory can be enabled: orders, wishlist",
        ),
        (
            spec_with({"redis": {"mode": "inCluster"}}),
            "shop",
            "redis.mode inCluster is not built yet",
        ),
    ],
    ids=["unmet-call", "long-name", "replicas", "version", "unbuilt-service", "unbuilt-mode"],
)
def test_invalid_specs_are_refused_with_what_to_change(
    spec: dict[str, Any], name: str, message: str
) -> None:
    with pytest.raises(InvalidSpecError, match=message):
        plan(spec, name)
