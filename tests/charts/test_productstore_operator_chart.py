"""charts/productstore-operator: lint, the apiserver's verdict on its output, schema
errors, and a real install whose RBAC the apiserver evaluates for the operator's account.

Everything runs against devstack's kube-apiserver (v1.34, the Istio, k8ssandra and
prometheus-operator CRDs installed) with the pinned helm; kwok fakes the pod.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.components.helm import Helm
from devstack.components.kube import KubeApiserver
from productstore_operator.models import ProductStoreSpec
from tests.support.helm import HelmCli
from tests.support.kubectl import Kubectl

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "productstore-operator"
GENERATED_CRD = REPO / "crds" / "productstore.io_productstores.yaml"
FULL_VALUES = Path(__file__).parent / "values-operator-full.yaml"
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}
WAIT_TIMEOUT = 120.0

Manifest = dict[str, Any]
# A row of kubectl auth can-i: (verb, resource) or (verb, resource, subresource).
Permission = tuple[str, ...]


@pytest.fixture(scope="module")
def kubectl(kube: KubeApiserver) -> Kubectl:
    return Kubectl(kube)


@pytest.fixture(scope="module")
def helm_cli(helm: Helm, kube: KubeApiserver, tmp_path_factory: pytest.TempPathFactory) -> HelmCli:
    return HelmCli(helm, tmp_path_factory.mktemp("helm-home"), kube.kubeconfig)


@pytest.fixture(scope="module")
def offline_helm(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> HelmCli:
    """helm for lint/template: no cluster, so renders use helm's default capabilities."""
    return HelmCli(helm, tmp_path_factory.mktemp("helm-home-offline"))


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _create_namespace(kubectl: Kubectl, prefix: str) -> str:
    name = _unique(prefix)
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": RESTRICTED},
    }
    kubectl.run("create", "--filename", "-", stdin=json.dumps(namespace))
    return name


@pytest.fixture(scope="module")
def namespaces(kubectl: Kubectl) -> Iterator[list[str]]:
    """Throw-away namespaces: [0] for the operator, [1] and [2] watched, [3] not."""
    created = [_create_namespace(kubectl, "op-chart") for _ in range(4)]
    try:
        yield created
    finally:
        for name in created:
            kubectl.run("delete", "namespace", name, "--wait=false", check=False)


def _set_list(names: list[str]) -> str:
    """A comma-separated value for --set, whose own separator is the comma."""
    return "\\,".join(names)


def _values_args(values: Path | None) -> list[str]:
    return ["--values", str(values)] if values else []


def _render(
    cli: HelmCli, release: str, values: Path | None, namespace: str, *extra: str
) -> list[Manifest]:
    out = cli.run(
        "template", release, str(CHART), "--namespace", namespace, *_values_args(values), *extra
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def _names(docs: list[Manifest]) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for doc in docs:
        kinds.setdefault(doc["kind"], set()).add(doc["metadata"]["name"])
    return kinds


def test_chart_crd_is_the_generated_crd() -> None:
    """helm installs crds/ untemplated: it must be the CRD `make crds` generates."""
    packaged = CHART / "crds" / GENERATED_CRD.name
    assert packaged.read_bytes() == GENERATED_CRD.read_bytes(), (
        f"{packaged} differs from {GENERATED_CRD}: run `make crds`, which writes both"
    )


VALUES_FILES = [pytest.param(None, id="default"), pytest.param(FULL_VALUES, id="full")]


@pytest.mark.parametrize("values", VALUES_FILES)
def test_lint_strict_is_clean(offline_helm: HelmCli, values: Path | None) -> None:
    lint = offline_helm.run("lint", "--strict", str(CHART), *_values_args(values))
    assert "1 chart(s) linted, 0 chart(s) failed" in lint.stdout
    assert "[WARNING]" not in lint.stdout
    assert "[ERROR]" not in lint.stdout


def _pod_from(deployment: Manifest, namespace: str) -> Manifest:
    """A bare Pod of a Deployment's template: Pod Security *enforces* on Pods only."""
    template = deployment["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{deployment['metadata']['name']}-pss",
            "namespace": namespace,
            "labels": template["metadata"]["labels"],
            "annotations": template["metadata"].get("annotations", {}),
        },
        "spec": template["spec"],
    }


def _wait_for_service_account(kubectl: Kubectl, namespace: str, name: str = "default") -> None:
    # The controller-manager creates "default" moments after the namespace.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if kubectl.run("get", "serviceaccount", name, "-n", namespace, check=False).returncode == 0:
            return
        time.sleep(0.5)
    pytest.fail(f"no ServiceAccount {name} in {namespace} after 30s")


def _expected_kinds(case: str, release: str, watched: list[str]) -> dict[str, set[str]]:
    # The namespaced rules are never bound cluster-wide: RoleBindings only.
    if case == "default":
        name = f"{release}-productstore-operator"
        return {
            "ClusterRole": {name, f"{name}-cluster-scoped"},
            "ClusterRoleBinding": {f"{name}-cluster-scoped"},
            "Deployment": {name},
            "RoleBinding": {name},
            "Service": {name},
            "ServiceAccount": {name},
        }
    name, reviewer = "ps-operator", "ps-operator-vault-reviewer"
    return {
        "ClusterRole": {name, f"{name}-cluster-scoped"},
        "ClusterRoleBinding": {f"{name}-cluster-scoped", reviewer},
        "Deployment": {name},
        "Role": {f"{reviewer}-token"},
        "RoleBinding": {name, f"{reviewer}-token"},
        "Service": {name},
        "ServiceAccount": {"productstore-operator", reviewer},
        "ServiceMonitor": {name},
    }


@pytest.mark.parametrize("values", VALUES_FILES)
def test_rendering_is_accepted_by_the_apiserver(
    offline_helm: HelmCli,
    kubectl: Kubectl,
    namespaces: list[str],
    values: Path | None,
    request: pytest.FixtureRequest,
) -> None:
    operator_ns, watched = namespaces[0], namespaces[1:3]
    release = _unique("op")
    extra = ["--set-string", f"operator.namespaces={_set_list(watched)}"] if values else []
    docs = _render(offline_helm, release, values, operator_ns, *extra)
    case = request.node.callspec.id
    assert _names(docs) == _expected_kinds(case, release, watched)
    operator_name = "ps-operator" if values else f"{release}-productstore-operator"
    bindings = [
        d for d in docs if d["kind"] == "RoleBinding" and d["metadata"]["name"] == operator_name
    ]
    # Default: the release's namespace only.
    assert sorted(d["metadata"]["namespace"] for d in bindings) == (
        sorted(watched) if values else [operator_ns]
    )

    # A Pod is admitted only if its ServiceAccount exists: those are created for real
    # (in the throw-away namespace); everything else is a server-side dry run.
    accounts = [d for d in docs if d["kind"] == "ServiceAccount"]
    kubectl.run("apply", "-n", operator_ns, "-f", "-", stdin=yaml.safe_dump_all(accounts))
    for account in accounts:
        _wait_for_service_account(kubectl, operator_ns, account["metadata"]["name"])
    pods = [_pod_from(d, operator_ns) for d in docs if d["kind"] == "Deployment"]
    others = [d for d in docs if d["kind"] != "ServiceAccount"]
    result = kubectl.run(
        "apply", "--dry-run=server", "--validate=strict", "-f", "-",
        stdin=yaml.safe_dump_all(others + pods),
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # A Deployment's pod template that Pod Security would reject only warns.
    assert "Warning" not in result.stderr, result.stderr
    accepted = [line for line in result.stdout.splitlines() if line.endswith("(server dry run)")]
    assert len(accepted) == len(others) + len(pods), result.stdout


def test_operator_environment_follows_the_values(offline_helm: HelmCli) -> None:
    """The contract's PRODUCTSTORE_OPERATOR_* variables, and operator.env winning."""
    docs = _render(offline_helm, "op", FULL_VALUES, "platform")
    (deployment,) = (d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    # The Vaults stores may name: Secrets become files, defaults are the operator's.
    assert json.loads(env.pop("PRODUCTSTORE_OPERATOR_VAULTS")) == [
        {
            "name": "default",
            "address": "https://vault.vault.svc:8200",
            "podAddress": "https://vault.vault.svc.cluster.example:8200",
            "authMount": "k8s-platform",
            "kvMount": "kv",
            "kvPath": "stores",
            "rolePrefix": "ps",
            "caFile": "/var/run/secrets/productstore/vault-servers/default/ca/ca.pem",
            "insecure": False,
        },
        {
            "name": "eu",
            "address": "https://vault.eu.example:8200",
            "tokenFile": "/var/run/secrets/productstore/vault-servers/eu/token/token",
            "insecure": False,
        },
    ]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["vault-0-ca"] == "/var/run/secrets/productstore/vault-servers/default/ca"
    assert mounts["vault-1-token"] == "/var/run/secrets/productstore/vault-servers/eu/token"
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["vault-0-ca"]["secret"] == {
        "secretName": "vault-ca",
        "items": [{"key": "ca.pem", "path": "ca.pem"}],
    }
    assert volumes["vault-1-token"]["secret"]["secretName"] == "vault-eu-token"
    assert env == {
        "HTTPS_PROXY": "http://proxy.example:3128",
        "PRODUCTSTORE_OPERATOR_CLUSTER_DOMAIN": "cluster.example",
        "PRODUCTSTORE_OPERATOR_ALL_NAMESPACES": "true",
        "PRODUCTSTORE_OPERATOR_ALLOWED_REGISTRIES": (
            "registry.example.com/productstore,mirror.example.com:5000/productstore"
        ),
        "PRODUCTSTORE_OPERATOR_HEALTH_PORT": "9101",
        # operator.env overrides operator.logLevel.
        "PRODUCTSTORE_OPERATOR_LOG_LEVEL": "WARNING",
        "PRODUCTSTORE_OPERATOR_MAX_CONCURRENT_HELM": "2",
        "PRODUCTSTORE_OPERATOR_METRICS_PORT": "9100",
        "PRODUCTSTORE_OPERATOR_MONITORING_NAMESPACE": "observability",
        "PRODUCTSTORE_OPERATOR_NETWORK_POLICY": "true",
        "PRODUCTSTORE_OPERATOR_RESYNC_SECONDS": "120",
        "PRODUCTSTORE_OPERATOR_TRUST_DOMAIN": "mesh.example",
        "PRODUCTSTORE_OPERATOR_VAULT_KUBERNETES_CA_FILE": (
            "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
        ),
        "PRODUCTSTORE_OPERATOR_VAULT_KUBERNETES_HOST": "https://203.0.113.10:6443",
        "PRODUCTSTORE_OPERATOR_VAULT_REVIEWER_SERVICE_ACCOUNT": (
            "platform/ps-operator-vault-reviewer"
        ),
        "PRODUCTSTORE_OPERATOR_VAULT_TOKEN_FILE": "/var/run/secrets/productstore/vault/vault-token",
    }
    assert container["image"] == "registry.example.com/platform/productstore-operator:1.2.3"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"health": 9101, "metrics": 9100}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    (monitor,) = (d for d in docs if d["kind"] == "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"

    default = _render(offline_helm, "op", None, "platform")
    (deployment,) = (d for d in default if d["kind"] == "Deployment")
    env = {
        e["name"]: e["value"]
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    # Least privilege by default: the release's namespace, the project's registry.
    assert env["PRODUCTSTORE_OPERATOR_NAMESPACES"] == "platform"
    assert "PRODUCTSTORE_OPERATOR_ALL_NAMESPACES" not in env
    assert env["PRODUCTSTORE_OPERATOR_ALLOWED_REGISTRIES"] == "ghcr.io/productstore"
    assert "PRODUCTSTORE_OPERATOR_VAULT_TOKEN_FILE" not in env
    # Out of the box: one Vault, "default", the Vault Helm chart's in-cluster address.
    assert json.loads(env["PRODUCTSTORE_OPERATOR_VAULTS"]) == [
        {
            "name": "default",
            "address": "https://vault.vault.svc:8200",
            "authMount": "kubernetes",
            "kvMount": "secret",
            "kvPath": "productstore",
            "rolePrefix": "productstore",
            "insecure": False,
        }
    ]


BAD_VALUES = [
    pytest.param(
        ["--set", "ports.metrics=metrics"],
        ["/ports/metrics", "got string, want integer"],
        id="port-as-string",
    ),
    pytest.param(
        ["--set", "operator.logLevel=verbose"],
        ["/operator/logLevel", "value must be one of"],
        id="bad-log-level",
    ),
    pytest.param(
        ["--set", "operator.namespaces=Shop_A"],
        ["/operator/namespaces", "does not match pattern"],
        id="namespace-not-a-dns-label",
    ),
    pytest.param(
        ["--set-string", "operator.namespaces=shop\\,kube-system"],
        ["operator.namespaces: the operator never acts in kube-system"],
        id="kube-system-watched",
    ),
    pytest.param(
        ["--namespace", "kube-system"],
        ["operator.namespaces: the operator never acts in kube-system"],
        id="released-into-kube-system",
    ),
    pytest.param(
        ["--set", "operator.allowedRegistries={https://evil.example.com}"],
        ["/operator/allowedRegistries/0", "does not match pattern"],
        id="registry-with-scheme",
    ),
    pytest.param(
        ["--set-json", "operator.allowedRegistries=[]"],
        ["/operator/allowedRegistries", "minItems: got 0, want 1"],
        id="no-registry",
    ),
    pytest.param(
        ["--set", "operator.clusterWide=yes"],
        ["/operator/clusterWide", "got string, want boolean"],
        id="cluster-wide-not-a-boolean",
    ),
    pytest.param(
        ["--set", "operator.resyncSeconds=0"],
        ["/operator/resyncSeconds", "minimum: got 0, want 1"],
        id="zero-resync",
    ),
    pytest.param(
        ["--set", "serviceMonitor.enable=true"],
        ["/serviceMonitor", "additional properties 'enable' not allowed"],
        id="misspelt-key",
    ),
    pytest.param(
        ["--set", "serviceMonitor.interval=often"],
        ["/serviceMonitor/interval", "does not match pattern"],
        id="bad-duration",
    ),
    pytest.param(
        ["--set", "vault.kubernetesHost=kubernetes.default.svc"],
        ["/vault/kubernetesHost", "does not match pattern"],
        id="host-without-scheme",
    ),
    pytest.param(
        ["--set", "vault.servers[0].name=Default,vault.servers[0].address=https://v"],
        ["/vault/servers/0/name", "does not match pattern"],
        id="vault-name-not-a-label",
    ),
    pytest.param(
        ["--set", "vault.servers[0].name=default"],
        ["/vault/servers/0", "missing property 'address'"],
        id="vault-without-address",
    ),
    pytest.param(
        ["--set", "vault.servers[0].name=v,vault.servers[0].address=vault:8200"],
        ["/vault/servers/0/address", "does not match pattern"],
        id="vault-address-without-scheme",
    ),
    pytest.param(
        ["--set", "resources.limits.memory=lots"],
        ["/resources/limits/memory", "does not match pattern"],
        id="bad-quantity",
    ),
]


@pytest.mark.parametrize(("args", "messages"), BAD_VALUES)
def test_bad_values_fail_naming_the_field(
    offline_helm: HelmCli, args: list[str], messages: list[str]
) -> None:
    result = offline_helm.run("template", "op", str(CHART), *args, check=False)
    assert result.returncode != 0, f"accepted: {args}"
    assert result.stdout == ""
    for message in messages:
        assert message in result.stderr


# What the contract's reconcile does (verb, resource) in a store's namespace...
GRANTED_IN_STORE_NAMESPACE: list[Permission] = [
    ("watch", "productstores.productstore.io"),
    ("patch", "productstores.productstore.io"),
    ("patch", "productstores.productstore.io", "status"),
    ("create", "events"),
    ("create", "events.events.k8s.io"),
    ("create", "k8ssandraclusters.k8ssandra.io"),
    ("delete", "k8ssandraclusters.k8ssandra.io"),
    ("create", "secrets"),
    ("get", "secrets"),
    ("list", "secrets"),
    ("update", "configmaps"),
    ("create", "serviceaccounts"),
    ("delete", "serviceaccounts"),
    ("patch", "services"),
    ("create", "deployments.apps"),
    ("watch", "deployments.apps"),
    ("list", "pods"),
    ("create", "horizontalpodautoscalers.autoscaling"),
    ("create", "poddisruptionbudgets.policy"),
    ("create", "networkpolicies.networking.k8s.io"),
    ("create", "ingresses.networking.k8s.io"),
    ("create", "peerauthentications.security.istio.io"),
    ("create", "authorizationpolicies.security.istio.io"),
    ("create", "destinationrules.networking.istio.io"),
    ("create", "virtualservices.networking.istio.io"),
]
# ... and what it never needs.
DENIED_IN_STORE_NAMESPACE: list[Permission] = [
    ("delete", "productstores.productstore.io"),
    ("create", "productstores.productstore.io"),
    ("create", "pods"),
    ("create", "pods/exec"),
    ("create", "roles.rbac.authorization.k8s.io"),
    ("create", "rolebindings.rbac.authorization.k8s.io"),
    ("create", "serviceaccounts", "token"),
    ("create", "jobs.batch"),
    ("delete", "events"),
]
# Outside the namespaces it was given, nothing that acts (kube-system least of all: its
# Secrets and ServiceAccounts are the cluster's keys), in either mode.
ACTING_ROWS: list[Permission] = [
    row for row in GRANTED_IN_STORE_NAMESPACE if not row[1].startswith(("productstores", "events"))
]
# Cluster-wide questions (`--all-namespaces`) the default install once answered yes.
NOWHERE_CLUSTER_WIDE: list[Permission] = [
    ("list", "secrets"),
    ("get", "secrets"),
    ("create", "deployments.apps"),
    ("create", "serviceaccounts"),
]
CLUSTER_SCOPED_GRANTED: list[Permission] = [
    ("list", "customresourcedefinitions.apiextensions.k8s.io"),
    ("watch", "namespaces"),
]
CLUSTER_SCOPED_DENIED: list[Permission] = [
    ("create", "customresourcedefinitions.apiextensions.k8s.io"),
    ("delete", "namespaces"),
    ("create", "clusterroles.rbac.authorization.k8s.io"),
    ("get", "nodes"),
]


def _can_i(kubectl: Kubectl, account: str, verb: str, resource: str, *scope: str) -> bool:
    """kubectl auth can-i as `account` (impersonated): the apiserver's own RBAC verdict."""
    result = kubectl.run("auth", "can-i", verb, resource, "--as", account, *scope, check=False)
    answer = result.stdout.strip()
    assert answer in {"yes", "no"}, result.stderr
    return answer == "yes"


def _permissions(
    kubectl: Kubectl, account: str, table: list[Permission], *scope: str
) -> dict[Permission, bool]:
    def ask(verb: str, resource: str, *subresource: str) -> bool:
        sub = ("--subresource", subresource[0]) if subresource else ()
        return _can_i(kubectl, account, verb, resource, *sub, *scope)

    return {row: ask(*row) for row in table}


@contextlib.contextmanager
def _installed(helm_cli: HelmCli, release: str, namespace: str, *args: str) -> Iterator[str]:
    try:
        install = helm_cli.run(
            "install", release, str(CHART), "--namespace", namespace, *args,
            "--wait", "--timeout", f"{WAIT_TIMEOUT:.0f}s",
        )  # fmt: skip
        yield install.stdout
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            helm_cli.run("uninstall", release, "--namespace", namespace, "--wait", check=False)


def _notes_store(notes: str) -> Manifest:
    """The ProductStore of NOTES.txt's `kubectl apply -f - <<'YAML'` step."""
    body = notes.split("<<'YAML'\n", 1)[1].split("\n  YAML\n", 1)[0]
    store: Manifest = yaml.safe_load(textwrap.dedent(body))
    return store


def test_install_grants_exactly_the_contract(
    helm_cli: HelmCli, kubectl: Kubectl, namespaces: list[str], productstore_crd: Manifest
) -> None:
    """Default install: the operator's account may do what the reconcile does in the
    release's namespace, no more, and nothing anywhere else."""
    operator_ns, unwatched = namespaces[0], namespaces[3]
    release = _unique("op")
    name = f"{release}-productstore-operator"
    account = f"system:serviceaccount:{operator_ns}:{name}"
    with _installed(helm_cli, release, operator_ns) as notes:
        assert f"rollout status deployment/{name}" in notes
        deployment = kubectl.json("get", "deployment", name, "-n", operator_ns)
        assert deployment["status"].get("availableReplicas") == 1
        # helm keeps the CRD of crds/ (it existed already, or helm created it); the
        # fixture made it this checkout's, whatever an earlier session left.
        kubectl.run("get", "crd", "productstores.productstore.io")
        in_store = ("--namespace", operator_ns)
        granted = _permissions(kubectl, account, GRANTED_IN_STORE_NAMESPACE, *in_store)
        assert granted == dict.fromkeys(GRANTED_IN_STORE_NAMESPACE, True)
        denied = _permissions(kubectl, account, DENIED_IN_STORE_NAMESPACE, *in_store)
        assert denied == dict.fromkeys(DENIED_IN_STORE_NAMESPACE, False)
        for elsewhere in ("kube-system", unwatched):
            outside = _permissions(
                kubectl, account, GRANTED_IN_STORE_NAMESPACE, "--namespace", elsewhere
            )
            assert outside == dict.fromkeys(GRANTED_IN_STORE_NAMESPACE, False), elsewhere
        everywhere = _permissions(kubectl, account, NOWHERE_CLUSTER_WIDE, "--all-namespaces")
        assert everywhere == dict.fromkeys(NOWHERE_CLUSTER_WIDE, False)
        cluster = _permissions(kubectl, account, CLUSTER_SCOPED_GRANTED)
        assert cluster == dict.fromkeys(CLUSTER_SCOPED_GRANTED, True)
        outside = _permissions(kubectl, account, CLUSTER_SCOPED_DENIED)
        assert outside == dict.fromkeys(CLUSTER_SCOPED_DENIED, False)
        # The store the notes tell the user to create is valid, for the model and the
        # apiserver, in the namespace the notes name.
        assert f"kubectl --namespace {operator_ns} apply -f -" in notes
        store = _notes_store(notes)
        ProductStoreSpec.model_validate(store["spec"])
        kubectl.run(
            "create", "--dry-run=server", "-n", operator_ns, "-f", "-", stdin=json.dumps(store)
        )
        assert f"in the namespaces {operator_ns} (a RoleBinding in each" in notes
        assert "only from ghcr.io/productstore" in notes
    assert kubectl.gone("clusterrole,clusterrolebinding", name, f"{name}-cluster-scoped")


def test_install_watching_namespaces_is_confined_to_them(
    helm_cli: HelmCli, kubectl: Kubectl, namespaces: list[str]
) -> None:
    operator_ns, watched, unwatched = namespaces[0], namespaces[1:3], namespaces[3]
    release = _unique("op")
    name = f"{release}-productstore-operator"
    account = f"system:serviceaccount:{operator_ns}:{name}"
    reviewer = f"{name}-vault-reviewer"
    args = (
        "--set-string", f"operator.namespaces={_set_list(watched)}",
        "--set", "vault.reviewer.create=true",
    )  # fmt: skip
    with _installed(helm_cli, release, operator_ns, *args) as notes:
        for namespace in watched:
            granted = _permissions(
                kubectl, account, GRANTED_IN_STORE_NAMESPACE, "--namespace", namespace
            )
            assert granted == dict.fromkeys(GRANTED_IN_STORE_NAMESPACE, True)
        # Not even the operator's own namespace is a store's unless it is listed.
        for elsewhere in (unwatched, operator_ns, "kube-system"):
            outside = _permissions(
                kubectl, account, GRANTED_IN_STORE_NAMESPACE, "--namespace", elsewhere
            )
            assert outside == dict.fromkeys(GRANTED_IN_STORE_NAMESPACE, False), elsewhere
        # A token of the Vault reviewer account only, which may review tokens.
        token = ("--subresource", "token")
        assert _can_i(
            kubectl, account, "create", f"serviceaccounts/{reviewer}", *token, "-n", operator_ns
        )
        assert not _can_i(
            kubectl, account, "create", f"serviceaccounts/{name}", *token, "-n", operator_ns
        )
        reviewer_account = f"system:serviceaccount:{operator_ns}:{reviewer}"
        assert _can_i(kubectl, reviewer_account, "create", "tokenreviews.authentication.k8s.io")
        assert f"in the namespaces {', '.join(watched)}" in notes
    assert kubectl.gone("clusterrolebinding", reviewer)


def test_cluster_wide_install_watches_everywhere_but_acts_only_where_granted(
    helm_cli: HelmCli, kubectl: Kubectl, namespaces: list[str]
) -> None:
    """operator.clusterWide: every namespace's ProductStores (to reconcile or refuse
    them with a condition), Secrets and workloads still only where a RoleBinding is."""
    operator_ns, watched, unwatched = namespaces[0], namespaces[1], namespaces[3]
    release = _unique("op")
    name = f"{release}-productstore-operator"
    account = f"system:serviceaccount:{operator_ns}:{name}"
    args = ("--set", "operator.clusterWide=true", "--set-string", f"operator.namespaces={watched}")
    with _installed(helm_cli, release, operator_ns, *args) as notes:
        assert "It watches every namespace" in notes
        assert f"kubectl create rolebinding {name} --namespace <namespace>" in notes
        granted = _permissions(kubectl, account, GRANTED_IN_STORE_NAMESPACE, "--namespace", watched)
        assert granted == dict.fromkeys(GRANTED_IN_STORE_NAMESPACE, True)
        watch = ("watch", "productstores.productstore.io")
        status = ("patch", "productstores.productstore.io", "status")
        assert _permissions(kubectl, account, [watch], "--all-namespaces") == {watch: True}
        for elsewhere in (unwatched, "kube-system"):
            # The store is seen and told why nothing happens...
            assert _permissions(kubectl, account, [status], "--namespace", elsewhere) == {
                status: True
            }
            # ... and nothing else may be done there.
            outside = _permissions(kubectl, account, ACTING_ROWS, "--namespace", elsewhere)
            assert outside == dict.fromkeys(ACTING_ROWS, False), elsewhere
        everywhere = _permissions(kubectl, account, NOWHERE_CLUSTER_WIDE, "--all-namespaces")
        assert everywhere == dict.fromkeys(NOWHERE_CLUSTER_WIDE, False)

        # An administrator grants one more namespace, as the notes say: one RoleBinding.
        kubectl.run(
            "create", "rolebinding", name, "--namespace", unwatched, "--clusterrole", name,
            "--serviceaccount", f"{operator_ns}:{name}",
        )  # fmt: skip
        try:
            later = _permissions(kubectl, account, ACTING_ROWS, "--namespace", unwatched)
            assert later == dict.fromkeys(ACTING_ROWS, True)
        finally:
            kubectl.run("delete", "rolebinding", name, "--namespace", unwatched, check=False)
