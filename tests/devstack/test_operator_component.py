"""devstack's `operator` component: wired to the helm build and acting with the chart's RBAC."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import yaml

from devstack.components import helm, node, openbao
from devstack.components import operator as operator_component
from devstack.components.helm import Helm
from devstack.components.kube import KubeApiserver
from devstack.components.operator import ProductStoreOperator, grant_object
from devstack.node_address import NODE_IP
from productstore_operator.config import load_config
from productstore_operator.models.spec import DEFAULT_REGISTRY
from tests.support.helm import HelmCli

CHART = Path(__file__).resolve().parents[2] / "charts" / "productstore-operator"


def test_helm_version_matches_the_helm_component() -> None:
    """operator.py cannot import helm.py (independent components): the copy must agree."""
    assert operator_component.HELM_VERSION == helm.HELM_VERSION


def test_a_grant_is_the_charts_rolebinding(helm: Helm, tmp_path: Path) -> None:
    """devstack grants a namespace exactly as the chart's operator.namespaces does."""
    rendered = HelmCli(helm, tmp_path).run(
        "template", "productstore", str(CHART), "--namespace", operator_component.NAMESPACE,
        "--set", "fullnameOverride=productstore-operator",
        "--set-string", "operator.namespaces=store-x",
        "--show-only", "templates/rolebinding.yaml",
    ).stdout  # fmt: skip
    (chart,) = [doc for doc in yaml.safe_load_all(rendered) if doc]
    ours = grant_object("store-x")
    assert ours["metadata"]["namespace"] == chart["metadata"]["namespace"] == "store-x"
    assert ours["metadata"]["name"] == chart["metadata"]["name"]
    assert ours["roleRef"] == chart["roleRef"]
    assert ours["subjects"] == chart["subjects"]


def test_the_operators_one_vault_is_devstacks_openbao(
    productstore_operator: ProductStoreOperator,
) -> None:
    """The operator's configured Vault "default" is the openbao component's address,
    the one Vault the devstack sample's stores may name."""
    assert operator_component.OPENBAO_ADDR == openbao.ADDR
    (process,) = productstore_operator.processes()
    config = load_config([], process.env)
    (vault,) = config.vaults
    # Pods reach it through node-net's relay on the real node's address (kwok's run nothing).
    assert (vault.name, vault.address, vault.pod_address) == (
        "default",
        openbao.ADDR,
        f"http://{NODE_IP}:{openbao.PORT}",
    )
    # OpenBao's dev server speaks plain http on loopback: allowed only because it says so.
    assert vault.insecure
    assert (
        config.read_vault_token(vault) == productstore_operator.vault_token_file.read_text().strip()
    )


def test_stores_may_use_the_projects_images_and_those_built_for_the_real_node(
    productstore_operator: ProductStoreOperator,
) -> None:
    (process,) = productstore_operator.processes()
    config = load_config([], process.env)
    assert config.allowed_registries == (DEFAULT_REGISTRY, node.IMAGE_REGISTRY)


def _can_i(kube: KubeApiserver, operator: ProductStoreOperator, *args: str) -> str:
    result = subprocess.run(
        [str(kube.kubectl), "--kubeconfig", str(operator.kubeconfig), "auth", "can-i", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return result.stdout.strip()


# The access devstack's operator has: the chart's rules where it was granted...
GRANTED = [
    ("watch", "productstores", "-n", "default"),
    ("create", "deployments", "-n", "default"),
    ("create", "secrets", "-n", "default"),
    ("list", "namespaces"),
]
# ... and nothing in kube-system, in a namespace nobody granted it, cluster-wide, or
# beyond the chart's rules (as an admin could).
DENIED = [
    ("get", "secrets", "-n", "kube-system"),
    ("create", "secrets", "-n", "kube-system"),
    ("create", "deployments", "-n", "kube-system"),
    ("create", "serviceaccounts", "-n", "kube-system"),
    ("get", "secrets", "-n", "kube-public"),
    ("create", "deployments", "-n", "kube-public"),
    ("list", "secrets", "--all-namespaces"),
    ("watch", "productstores", "--all-namespaces"),
    ("create", "pods", "-n", "default"),
    ("create", "clusterroles"),
]


def test_operator_acts_as_its_service_account_not_admin(
    productstore_operator: ProductStoreOperator, kube: KubeApiserver
) -> None:
    answers = {row: _can_i(kube, productstore_operator, *row) for row in GRANTED + DENIED}
    assert answers == {**dict.fromkeys(GRANTED, "yes"), **dict.fromkeys(DENIED, "no")}
    whoami = subprocess.run(
        [str(kube.kubectl), "--kubeconfig", str(productstore_operator.kubeconfig),
         "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert whoami.stdout == "system:serviceaccount:productstore-system:productstore-operator"


def test_metrics_and_health_answer(productstore_operator: ProductStoreOperator) -> None:
    metrics = httpx.get(operator_component.METRICS_URL, timeout=5)
    assert metrics.status_code == 200
    for family in ("reconciles_total counter", "stores gauge"):
        assert f"# TYPE productstore_operator_{family}" in metrics.text
    assert productstore_operator.ready()
    assert productstore_operator.env() == {
        "PRODUCTSTORE_OPERATOR_METRICS_URL": operator_component.METRICS_URL
    }
