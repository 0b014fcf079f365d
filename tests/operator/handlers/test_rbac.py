"""The operator as the chart's ServiceAccount, with the chart's default RBAC: granted
the release's namespace only (no ClusterRoleBinding of the namespaced rules), it
converges a store there and removes it again, watching with a kopf glob as
devstack does, beside a matching namespace nobody granted. So least privilege is
enough for a whole reconcile, helm's release records included; the denials
themselves are tests/charts/test_productstore_operator_chart.py's.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.components.helm import Helm
from devstack.components.kube import KubeApiserver
from devstack.components.openbao import OpenBao
from productstore_operator.models import IMPLEMENTED_SERVICES
from tests.operator.handlers.support import (
    OperatorProcess,
    Sandbox,
    deployments,
    devstack_spec,
    release_history,
    roles,
    wait_for,
)
from tests.support.helm import HelmCli
from tests.support.kubectl import Kubectl
from tests.support.stores import create_namespace, delete_namespace

_log = logging.getLogger(__name__)
OPERATOR_CHART = Path(__file__).resolve().parents[3] / "charts" / "productstore-operator"
# What helm would install besides RBAC: not needed, the operator runs as a process.
NOT_APPLIED = {"Deployment", "Service"}


@pytest.fixture
def chart_rbac(box: Sandbox, kube: KubeApiserver, helm: Helm, tmp_path: Path) -> Iterator[str]:
    """The chart's defaults released into the sandbox (the operator's and the store's
    namespace), with the Vault reviewer; returns the operator's kubeconfig: a token of
    its ServiceAccount, not admin."""
    name = f"ps-op-{box.suffix}"
    rendered = HelmCli(helm, tmp_path / "helm-render").run(
        "template", "op", str(OPERATOR_CHART), "--namespace", box.namespace,
        "--set", f"fullnameOverride={name}", "--set", "vault.reviewer.create=true",
    ).stdout  # fmt: skip
    docs = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] not in NOT_APPLIED]
    assert {d["kind"] for d in docs} == {
        "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount",
    }  # fmt: skip
    kubectl = Kubectl(kube)
    manifest = yaml.safe_dump_all(docs)
    kubectl.run("apply", "-f", "-", stdin=manifest)
    try:
        token = kubectl.run(
            "create", "token", name, "--namespace", box.namespace, "--duration", "1h"
        ).stdout.strip()
        config: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "devstack", "cluster": {"server": kube.server,
                                                 "certificate-authority": str(kube.ca_cert)}}
            ],
            "users": [{"name": name, "user": {"token": token}}],
            "contexts": [{"name": "operator", "context": {"cluster": "devstack", "user": name}}],
            "current-context": "operator",
        }  # fmt: skip
        path = tmp_path / "operator.kubeconfig"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        path.chmod(0o600)
        yield str(path)
    finally:
        with contextlib.suppress(subprocess.SubprocessError, AssertionError):
            kubectl.run("delete", "--ignore-not-found", "-f", "-", stdin=manifest, check=False)


def test_the_charts_default_grant_is_enough_for_a_whole_reconcile(
    box: Sandbox,
    chart_rbac: str,
    kube: KubeApiserver,
    helm: Helm,
    openbao: OpenBao,
    *,
    tmp_path: Path,
) -> None:
    operator = OperatorProcess(box, kube, helm, openbao, tmp_path)
    operator.env["KUBECONFIG"] = chart_rbac
    # As devstack watches store-*: a glob, which also matches a namespace nobody
    # granted; kopf's watch there is refused, and the granted one must not suffer.
    ungranted = create_namespace(box.api, box.namespace)
    operator.watch = f"{box.namespace}*"
    reviewer = f"{box.namespace}/ps-op-{box.suffix}-vault-reviewer"
    operator.env["PRODUCTSTORE_OPERATOR_VAULT_REVIEWER_SERVICE_ACCOUNT"] = reviewer
    operator.start()
    try:
        box.apply_store("shop", devstack_spec(box, openbao))
        store = box.wait_ready("shop")
        assert {c["type"]: c["status"] for c in store["status"]["conditions"]}["Ready"] == "True"
        assert set(deployments(box)) == {f"shop-{name}" for name in IMPLEMENTED_SERVICES}
        assert roles(openbao, box) != []

        box.custom.delete_namespaced_custom_object(
            "productstore.io", "v1alpha1", box.namespace, "productstores", "shop"
        )
        wait_for("the store to be gone", lambda: True if box.store("shop") is None else None)
        assert release_history(helm, kube, box, tmp_path / "helm-cli") == []
        assert roles(openbao, box) == []
        assert operator.process is not None
        assert operator.process.poll() is None, "the operator exited"
        box.custom.create_namespaced_custom_object(
            "productstore.io", "v1alpha1", ungranted, "productstores",
            {"apiVersion": "productstore.io/v1alpha1", "kind": "ProductStore",
             "metadata": {"name": "shop"}, "spec": devstack_spec(box, openbao)},
        )  # fmt: skip
        time.sleep(10)
        # Not seen, so untouched: no finalizer, no status, nothing installed.
        stray = box.custom.get_namespaced_custom_object(
            "productstore.io", "v1alpha1", ungranted, "productstores", "shop"
        )
        assert "status" not in stray
        assert not stray["metadata"].get("finalizers")
    finally:
        operator.stop()
        delete_namespace(box.api, ungranted)
        # Shown by pytest when the test failed.
        _log.info("operator logs:\n%s", operator.logs()[-20000:])
