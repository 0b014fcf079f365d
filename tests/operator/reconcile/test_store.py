"""The status and events a pass produces, without a cluster: invalid specs and transitions;
and the finalizer of a store whose spec no longer builds, against OpenBao and helm."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devstack.components.helm import Helm
from devstack.components.kube import KubeApiserver
from devstack.components.openbao import OpenBao
from productstore_operator.conditions import set_condition
from productstore_operator.config import RuntimeConfig, VaultServer
from productstore_operator.handlers import _status_patch
from productstore_operator.io import Helm as Helm_
from productstore_operator.io import Kube, api_client
from productstore_operator.models import Condition
from productstore_operator.reconcile.runtime import Runtime
from productstore_operator.reconcile.store import _transition_events, finalize, invalid_outcome
from tests.operator.spec_cases import minimal_spec

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CHART = Path(__file__).resolve().parents[3] / "charts" / "productstore"


def conditions(**statuses: str) -> list[Condition]:
    result: list[Condition] = []
    for condition_type, status in statuses.items():
        result = set_condition(
            result,
            condition_type,
            status,  # type: ignore[arg-type]
            reason="Because",
            message=f"{condition_type} message",
            generation=1,
            now=NOW,
        )
    return result


def test_an_invalid_spec_fails_ready_once_and_keeps_the_rest() -> None:
    before: dict[str, Any] = {
        "phase": "Ready",
        "services": {"auth": {"desiredReplicas": 2, "readyReplicas": 2}},
        "conditions": [c.model_dump(mode="json", by_alias=True) for c in conditions(Ready="True")],
    }
    outcome = invalid_outcome("orders calls catalog", before, 2, NOW + timedelta(minutes=1))
    assert outcome.invalid == "orders calls catalog"
    assert outcome.result == "invalid"
    status = outcome.status
    assert status["phase"] == "Failed"
    assert status["observedGeneration"] == 2
    assert status["services"] == before["services"]  # what runs keeps running
    (ready,) = status["conditions"]
    assert ready["status"] == "False"
    assert ready["reason"] == "InvalidSpec"
    assert "orders calls catalog" in ready["message"]
    assert "Nothing was changed" in ready["message"]
    assert [(e.type, e.reason) for e in outcome.events] == [("Warning", "InvalidSpec")]

    # The timer's next pass over the same spec: same status, no second event.
    again = invalid_outcome("orders calls catalog", status, 2, NOW + timedelta(minutes=2))
    assert again.events == []
    assert again.status["conditions"][0]["lastTransitionTime"] == ready["lastTransitionTime"]


def test_an_invalid_spec_keeps_the_recorded_vault_names() -> None:
    recorded = {
        "name": "default",
        "authMount": "kubernetes",
        "roles": ["productstore-ns-shop-0123456789abcdef-auth"],
        "policies": ["productstore-ns-shop-0123456789abcdef-auth"],
    }
    outcome = invalid_outcome("set vault.name", {"vault": recorded}, 2, NOW)
    # The finalizer deletes these names later: an invalid spec must not forget them.
    assert outcome.status["vault"] == recorded


def test_finalizing_an_invalid_store_removes_exactly_its_recorded_names(
    openbao: OpenBao, kube: KubeApiserver, helm: Helm
) -> None:
    suffix = uuid.uuid4().hex[:8]
    mount, name = f"k8s-fin-{suffix}", f"fin-{suffix}"
    bao = openbao.client()
    bao.sys.enable_auth_method("kubernetes", path=mount)
    mine = [f"{name}-ns-shop-0123456789abcdef-{s}" for s in ("auth", "catalog")]
    neighbour = f"{name}-ns-shop-eu-fedcba9876543210-auth"
    try:
        for role in [*mine, neighbour]:
            bao.sys.create_or_update_acl_policy(role, 'path "x" {\n  capabilities = ["read"]\n}\n')
            bao.auth.kubernetes.create_role(
                role,
                bound_service_account_names=["x"],
                bound_service_account_namespaces=["ns"],
                mount_point=mount,
            )
        server = VaultServer("default", openbao.addr, openbao.addr, auth_mount=mount, insecure=True)
        runtime = Runtime(
            config=RuntimeConfig(vaults=(server,), vault_token=openbao.token),
            kube=Kube(api_client(kube.kubeconfig)),
            helm=Helm_(str(helm.binary), CHART, kube.kubeconfig, 1),
        )
        body = {
            "metadata": {"name": "shop", "namespace": f"ns-{suffix}", "uid": "u"},
            # Written for an older operator: no plan can be built from it.
            "spec": {**minimal_spec(), "vault": {"address": "http://attacker.example:8200"}},
            "status": {
                "vault": {"name": "default", "authMount": mount, "roles": mine, "policies": mine}
            },
        }
        (event,) = asyncio.run(finalize(body, runtime))
        assert event.message.startswith("invalid spec: removed the release, if any; removed")
        roles = set(bao.auth.kubernetes.list_roles(mount_point=mount)["keys"])
        policies = set(bao.sys.list_acl_policies()["data"]["keys"])
        assert roles & {*mine, neighbour} == {neighbour}
        assert policies & {*mine, neighbour} == {neighbour}
        runtime.kube.close()
    finally:
        bao.sys.disable_auth_method(path=mount)
        for policy in [*mine, neighbour]:
            bao.sys.delete_acl_policy(policy)


def test_events_tell_readys_changes_and_failing_components_only() -> None:
    before = conditions(SecretsReady="True", ServicesReady="True", Ready="True")
    after = conditions(SecretsReady="True", ServicesReady="False", Ready="False")
    events = _transition_events(before, after)
    assert [(e.type, e.reason) for e in events] == [("Warning", "Because")] * 2
    assert [e.message.split(" is ")[0] for e in events] == ["ServicesReady", "Ready"]
    # A component that recovers says nothing; Ready does.
    events = _transition_events(after, before)
    assert [e.message.split(" is ")[0] for e in events] == ["Ready"]
    assert events[0].type == "Normal"
    assert _transition_events(before, before) == []


def test_status_patch_removes_services_that_are_gone() -> None:
    old = {"services": {"auth": {"desiredReplicas": 2}, "analytics": {"desiredReplicas": 1}}}
    new = {"phase": "Ready", "services": {"auth": {"desiredReplicas": 3}}}
    assert _status_patch(old, new) == {
        "phase": "Ready",
        "services": {"auth": {"desiredReplicas": 3}, "analytics": None},
    }
