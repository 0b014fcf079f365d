"""Where a store may be reconciled, against devstack's apiserver, as an account that
holds only what the test grants it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from devstack.components.helm import Helm as HelmComponent
from productstore_operator.config import RuntimeConfig, VaultServer
from productstore_operator.io import Helm, Kube
from productstore_operator.reconcile import Outcome, Runtime, finalize, reconcile
from tests.operator.builders.support import SETTINGS
from tests.operator.spec_cases import spec_with
from tests.support.stores import create_namespace, delete_namespace

CHART = Path(__file__).resolve().parents[3] / "charts" / "productstore"
DISCARD = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def store_namespace(kube_api: client.ApiClient) -> Iterator[str]:
    name = create_namespace(kube_api, "ps-access")
    try:
        yield name
    finally:
        delete_namespace(kube_api, name)


@pytest.fixture(scope="module")
def runtime(
    kube_api: client.ApiClient, store_namespace: str, helm: HelmComponent
) -> Iterator[Runtime]:
    """The reconcile as a ServiceAccount that nothing is granted to (yet)."""
    core = client.CoreV1Api(kube_api)
    account = "operator-under-test"
    core.create_namespaced_service_account(store_namespace, {"metadata": {"name": account}})
    request = {"spec": {"audiences": [], "expirationSeconds": 3600}}
    token = core.create_namespaced_service_account_token(account, store_namespace, request)
    admin = kube_api.configuration
    configuration = client.Configuration(host=admin.host)
    configuration.ssl_ca_cert = admin.ssl_ca_cert
    configuration.api_key = {"authorization": f"Bearer {token.status.token}"}
    api = client.ApiClient(configuration)
    try:
        yield Runtime(
            config=RuntimeConfig(
                namespaces=(store_namespace,),
                # The discard port: a pass that gets as far as Vault stops there, touching nothing.
                vaults=(VaultServer("default", DISCARD, DISCARD, insecure=True),),
                settings=SETTINGS,
            ),
            kube=Kube(api),
            helm=Helm(str(helm.binary), CHART, None, 1),
        )
    finally:
        api.close()


def _body(namespace: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "shop", "namespace": namespace, "uid": str(uuid.uuid4()),
                     "generation": 1},
        "spec": spec_with({}),
    }  # fmt: skip


def _ready(outcome: Outcome) -> dict[str, Any]:
    conditions = outcome.status.get("conditions") or []
    ready: dict[str, Any] = next(c for c in conditions if c["type"] == "Ready")
    return ready


@pytest.mark.parametrize("namespace", ["kube-system", "kube-public", "kube-node-lease"])
def test_a_store_in_a_control_plane_namespace_is_refused_for_good(
    runtime: Runtime, namespace: str
) -> None:
    outcome = asyncio.run(reconcile(_body(namespace), runtime))
    ready = _ready(outcome)
    assert (ready["status"], ready["reason"]) == ("False", "NamespaceNotAllowed")
    assert f"never acts in namespace {namespace}" in ready["message"]
    assert "Nothing was changed" in ready["message"]
    assert outcome.status["phase"] == "Failed"
    assert outcome.invalid is not None  # a PermanentError: only another namespace helps
    assert [(e.type, e.reason) for e in outcome.events] == [("Warning", "NamespaceNotAllowed")]
    # Deleting it removes nothing (the operator never uninstalls anything there).
    events = asyncio.run(finalize(_body(namespace), runtime))
    assert [e.message for e in events] == ["a store in a protected namespace had nothing applied"]


def test_a_namespace_the_operator_was_not_granted_is_refused_until_it_is(
    runtime: Runtime, kube_api: client.ApiClient, store_namespace: str
) -> None:
    body = _body(store_namespace)
    outcome = asyncio.run(reconcile(body, runtime))
    ready = _ready(outcome)
    assert (ready["status"], ready["reason"]) == ("False", "NamespaceNotGranted")
    assert f"no access to namespace {store_namespace}" in ready["message"]
    assert "operator.namespaces" in ready["message"]
    assert outcome.invalid is None  # a grant fixes it, no spec change: looked at again
    assert outcome.retry_after == runtime.config.resync_seconds
    assert [(e.type, e.reason) for e in outcome.events] == [("Warning", "NamespaceNotGranted")]
    assert asyncio.run(finalize(body, runtime))[0].message == (
        "no access to the namespace: removed nothing"
    )

    # What the chart's RoleBinding gives (reduced here to the Secrets helm needs).
    rbac = client.RbacAuthorizationV1Api(kube_api)
    rule = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}
    rbac.create_namespaced_role(store_namespace, {"metadata": {"name": "grant"}, "rules": [rule]})
    rbac.create_namespaced_role_binding(
        store_namespace,
        {
            "metadata": {"name": "grant"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "grant"},
            "subjects": [{"kind": "ServiceAccount", "name": "operator-under-test",
                          "namespace": store_namespace}],
        },
    )  # fmt: skip
    granted = asyncio.run(reconcile({**body, "status": outcome.status}, runtime))
    reasons = {c["type"]: c["reason"] for c in granted.status["conditions"]}
    # Past the check, the pass reaches Vault (unreachable here) and stops there.
    assert reasons["SecretsReady"] == "VaultUnavailable"
    assert reasons["Ready"] != "NamespaceNotGranted"
