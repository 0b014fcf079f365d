"""make_plan: everything a pass applies is built, or the spec is refused, before any I/O."""

from __future__ import annotations

from typing import Any

import pytest

from productstore_operator.builders import InvalidSpecError, StoreRef
from productstore_operator.builders.naming import vault_role_prefix
from productstore_operator.reconcile.plan import make_plan
from tests.operator.builders.support import SETTINGS
from tests.operator.spec_cases import SAMPLES, load_sample, spec_with

# The project's registry, the full sample's and the node sample's (devstack's builds).
ALLOWED = ("ghcr.io/productstore", "registry.example.com/productstore", "localhost/productstore")


def plan(spec: dict[str, Any], name: str = "shop") -> Any:
    return make_plan(
        name=name,
        namespace="ns",
        uid="uid-1",
        generation=3,
        spec=spec,
        settings=SETTINGS,
        allowed_registries=ALLOWED,
    )


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_sample_plans(sample: str) -> None:
    document = load_sample(sample)
    built = plan(document["spec"])
    assert built.release == "shop"
    assert built.values["fullnameOverride"] == "shop"
    assert (built.k8ssandra is None) == (
        document["spec"].get("cassandra", {}).get("mode") == "external"
    )
    prefix = vault_role_prefix("productstore", StoreRef("shop", "ns"))
    assert {role.name.removeprefix(prefix) for role in built.vault.roles} == set(
        built.spec.services.enabled()
    )
    # What an operator before the digest named this store's roles: removed once, by name.
    assert set(built.legacy_vault.roles) >= {
        "productstore-ns-shop-auth",
        "productstore-ns-shop-catalog",
    }


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
            spec_with({"services.analytics.enabled": True}),
            "shop",
            "only auth, catalog, orders, inventory, wishlist, reviews and notifications can be "
            "enabled: analytics",
        ),
        (
            spec_with({"redis.mode": "inCluster"}),
            "shop",
            "spec.redis.mode",
        ),
        # Images from anywhere but the operator's allowed registries, the list named.
        (
            spec_with({"image.registry": "evil.example.com/miner"}),
            "shop",
            "spec.image.registry 'evil.example.com/miner' is not allowed; this operator "
            "deploys images only from ghcr.io/productstore, localhost/productstore, "
            "registry.example.com/productstore",
        ),
        # Exact match: a path below an allowed registry is another registry.
        (
            spec_with({"image.registry": "ghcr.io/productstore/forks"}),
            "shop",
            "'ghcr.io/productstore/forks' is not allowed",
        ),
        # A Vault the operator was not configured with: refused before any connection.
        (
            spec_with({"vault.name": "attacker"}),
            "shop",
            "spec.vault.name 'attacker' is not a Vault the operator is configured with: "
            "the Vaults it knows are 'default', 'eu'",
        ),
        # Where a Vault is, is never the store's to say.
        (
            spec_with({"vault.address": "http://attacker.example:8200"}),
            "shop",
            r"spec\.vault: .*vault\.address, authMount, kvMount, kvPath and rolePrefix are the "
            r"operator's configuration now .*given: address",
        ),
    ],
    ids=[
        "unmet-call",
        "long-name",
        "replicas",
        "version",
        "unbuilt-service",
        "unbuilt-mode",
        "registry-not-allowed",
        "registry-sub-path",
        "unknown-vault",
        "vault-address",
    ],
)
def test_invalid_specs_are_refused_with_what_to_change(
    spec: dict[str, Any], name: str, message: str
) -> None:
    with pytest.raises(InvalidSpecError, match=message):
        plan(spec, name)


def test_the_default_allow_list_is_the_projects_registry() -> None:
    """Without an allow-list (the operator's default) only ghcr.io/productstore deploys."""

    def default_plan(spec: dict[str, Any]) -> Any:
        return make_plan(
            name="shop", namespace="ns", uid="u", generation=1, spec=spec, settings=SETTINGS
        )

    assert default_plan(spec_with({})).spec.image.registry == "ghcr.io/productstore"
    elsewhere = spec_with({"image.registry": "registry.example.com/productstore"})
    with pytest.raises(InvalidSpecError, match=r"only from ghcr\.io/productstore \("):
        default_plan(elsewhere)
