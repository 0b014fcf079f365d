"""Everything a pass will apply, built and validated before anything is touched.

An invalid spec is refused here, so a pass either applies a whole plan or
nothing: no Vault role without its Deployment, no half-upgraded release.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from productstore_operator.builders import (
    InvalidSpecError,
    OperatorSettings,
    StoreRef,
    VaultConfig,
    build_k8ssandra_cluster,
    build_release_values,
    build_vault_config,
)
from productstore_operator.builders.naming import legacy_vault_role_names, release_name
from productstore_operator.builders.vault import VaultNames, vault_target
from productstore_operator.models import API_VERSION as STORE_API_VERSION
from productstore_operator.models import KIND as STORE_KIND
from productstore_operator.models import ProductStoreSpec
from productstore_operator.models.spec import DEFAULT_REGISTRY


@dataclass(frozen=True)
class Plan:
    """The desired state of one store."""

    store: StoreRef
    uid: str
    generation: int | None
    spec: ProductStoreSpec
    release: str
    values: dict[str, Any]
    vault: VaultConfig
    # Exact role and policy names an operator before the digest wrote (removed once,
    # when the store has no record of its names yet).
    legacy_vault: VaultNames
    # The K8ssandraCluster body (mode k8ssandra), without its owner reference.
    k8ssandra: dict[str, Any] | None


def _explain(error: ValidationError) -> str:
    return "; ".join(
        f"spec.{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" if e["loc"] else e["msg"]
        for e in error.errors()
    )


def make_plan(
    *,
    name: str,
    namespace: str,
    uid: str,
    generation: int | None,
    spec: Mapping[str, Any],
    settings: OperatorSettings,
    allowed_registries: Collection[str] = (DEFAULT_REGISTRY,),
) -> Plan:
    """The store's plan; InvalidSpecError with what to change if it cannot be built."""
    try:
        model = ProductStoreSpec.model_validate(dict(spec))
    except ValidationError as exc:
        raise InvalidSpecError(_explain(exc)) from exc
    if model.image.registry not in allowed_registries:
        # The operator's account deploys these images: the operator's
        # configuration, not the store's author, decides where they come from.
        raise InvalidSpecError(
            f"spec.image.registry {model.image.registry!r} is not allowed; this operator "
            f"deploys images only from {', '.join(sorted(allowed_registries))} "
            "(its --allowed-registry, the chart's operator.allowedRegistries)"
        )
    store = StoreRef(name, namespace)
    # An unknown spec.vault.name stops here: no Vault is contacted for it.
    vault = build_vault_config(model, store, settings)
    legacy = legacy_vault_role_names(vault_target(model, settings).role_prefix, store)
    return Plan(
        store=store,
        uid=uid,
        generation=generation,
        spec=model,
        release=release_name(store),
        values=build_release_values(model, store, settings),
        vault=vault,
        legacy_vault=VaultNames(vault.auth_mount, legacy, legacy),
        k8ssandra=(
            build_k8ssandra_cluster(model, store, settings)
            if model.cassandra.mode == "k8ssandra"
            else None
        ),
    )


def owner_reference(plan: Plan) -> dict[str, Any]:
    """Makes the store the child's controller: deleting the store garbage-collects it."""
    return {
        "apiVersion": STORE_API_VERSION,
        "kind": STORE_KIND,
        "name": plan.store.name,
        "uid": plan.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
