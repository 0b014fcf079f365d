"""The Product Store operator as a process against devstack's control plane.

`make up` runs it like the services: from the workspace (``python -m
productstore_operator``), watching the namespaces ``default`` and ``store-*``,
so ``kubectl apply -f
manifests/samples/productstore-devstack.yaml`` turns into a running store.

It acts with the access a cluster install grants, not as cluster admin: the
ServiceAccount, ClusterRoles and cluster-scoped binding of ``manifests/operator``
(the chart's defaults) are applied, the namespaced rules are granted by a
RoleBinding in ``default`` here and in each ``store-*`` namespace by whoever
creates it (``grant_object``: tests, benchmarks), as an administrator grants a
namespace in a cluster, and the process authenticates with that account's
token. A missing rule therefore fails here first, not in a user's cluster.
OpenBao runs outside the cluster, so Vault's Kubernetes auth reviews the
stores' tokens with a reviewer account the operator requests tokens for.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import hvac
import yaml

from devstack import cassandra_auth, sample_store
from devstack.component import Component
from devstack.components import vault_kubernetes
from devstack.components.kube_cluster import SERVER, admin_api, kubeconfig, pki_files
from devstack.errors import DevstackError
from devstack.node_address import NODE_IP
from devstack.process import Endpoint, ProcessSpec

HOST = "127.0.0.1"
METRICS_PORT = 8190
HEALTH_PORT = 8191
METRICS_URL = f"http://{HOST}:{METRICS_PORT}/metrics"
# helm.py's HELM_VERSION (components may not import each other; a devstack test
# keeps the two equal).
HELM_VERSION = "v3.22.0"
# openbao.py's ADDR, for the same reason: the one Vault this operator knows.
OPENBAO_ADDR = "http://127.0.0.1:8200"
# The Pods' way to OpenBao: node-net relays its port on the real node's address
# (devstack.node_address), which a Pod on the real node reaches; kwok's Pods run nothing.
OPENBAO_POD_ADDR = f"http://{NODE_IP}:8200"
# The registries a store may take images from: the project's (the operator's default,
# productstore_operator.models.spec.DEFAULT_REGISTRY) and node.py's IMAGE_REGISTRY, the
# images built for the real node (copies; a devstack test keeps them equal).
PROJECT_REGISTRY = "ghcr.io/productstore"
NODE_IMAGE_REGISTRY = "localhost/productstore"
# prometheus.py's address, for the same reason: where the sample store's rules are loaded.
PROMETHEUS_URL = "http://127.0.0.1:9090"
REPO = Path(__file__).resolve().parents[4]
MANIFESTS = REPO / "manifests" / "operator"
CRD_FILE = REPO / "crds" / "productstore.io_productstores.yaml"
CRD_NAME = "productstores.productstore.io"
# manifests/operator's names: the operator's namespace and ServiceAccount.
NAMESPACE = vault_kubernetes.NAMESPACE
SERVICE_ACCOUNT = "productstore-operator"
REVIEWER = vault_kubernetes.REVIEWER
# A legacy token Secret: the controller-manager fills it with a token that does
# not expire, so a long-running `make up` never loses its credentials.
TOKEN_SECRET = f"{SERVICE_ACCOUNT}-token"
RBAC_FILES = (
    "namespace.yaml",
    "serviceaccount.yaml",
    "clusterrole.yaml",
    "clusterrole-cluster-scoped.yaml",
    "clusterrolebinding-cluster-scoped.yaml",
)
# The ClusterRole of the namespaced rules (manifests/operator/clusterrole.yaml),
# which a RoleBinding per namespace grants.
NAMESPACED_ROLE = "productstore-operator"
# Earlier devstacks bound NAMESPACED_ROLE cluster-wide under this name: removed.
STALE_CLUSTER_BINDING = "productstore-operator"
# Namespaces granted at start; "store-*" ones are granted by whoever creates them.
GRANTED_NAMESPACES = ("default",)
WAIT_SECONDS = 60.0
# Opt-in by namespace name (kopf globs): "default" for the README's path, and
# "store-*" for tests and benchmarks. Other sessions' tests create ProductStores
# in namespaces of their own without expecting an operator (CRD validation) or
# run an operator of their own; reconciling those would fight them. The operator
# may act only where a RoleBinding grants it (GRANTED_NAMESPACES, grant_object):
# kopf cannot watch a "store-*" namespace nobody granted, so it never sees a store there.
WATCHED_NAMESPACES = "default,store-*"
# The sample stores' Vault kvPath (the operator's default).
SAMPLE_KV_PATH = "productstore"


def grant_object(namespace: str) -> dict[str, Any]:
    """The RoleBinding that lets devstack's operator act in ``namespace`` (what the
    chart's operator.namespaces renders there)."""
    rbac = "rbac.authorization.k8s.io"
    return {
        "apiVersion": f"{rbac}/v1",
        "kind": "RoleBinding",
        "metadata": {
            "name": SERVICE_ACCOUNT,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "productstore"},
        },
        "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": NAMESPACED_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}],
    }


_SYNC_HINT = "run `make setup` in the repository (the workspace installs productstore-operator)"
_KUBE_HINT = "check that the control plane runs (`devstack up kube`) and its log"


def _reviewer_objects() -> list[dict[str, Any]]:
    """The chart's vault.reviewer.create=true objects, for an OpenBao outside the cluster
    (the reviewer's own from vault_kubernetes, which configures OpenBao with it)."""
    labels = {"app.kubernetes.io/part-of": "productstore"}
    operator = {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}
    rbac = "rbac.authorization.k8s.io"
    return [
        *vault_kubernetes.reviewer_objects(),
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "Role",
            "metadata": {"name": f"{REVIEWER}-token", "namespace": NAMESPACE, "labels": labels},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["serviceaccounts/token"],
                    "resourceNames": [REVIEWER],
                    "verbs": ["create"],
                }
            ],
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{REVIEWER}-token", "namespace": NAMESPACE, "labels": labels},
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": f"{REVIEWER}-token"},
            "subjects": [operator],
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": TOKEN_SECRET,
                "namespace": NAMESPACE,
                "labels": labels,
                "annotations": {"kubernetes.io/service-account.name": SERVICE_ACCOUNT},
            },
        },
    ]


class ProductStoreOperator(Component):
    """The kopf operator reconciling ProductStores on devstack's apiserver."""

    name = "operator"
    description = (
        f"Product Store operator (kopf) on devstack's apiserver; metrics {HOST}:{METRICS_PORT}"
    )
    default = True
    # Stores become Ready only when their Deployments' pods run: the scheduler
    # places them, the controller-manager makes them, kwok runs them.
    requires = (
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
        "openbao",
        "helm",
        # The sample stores' Cassandra: the operator makes each service's role there.
        "cassandra",
    )
    ready_timeout = 60.0
    start_hint = (
        "read the log (`devstack logs operator`); check that ports "
        f"{METRICS_PORT} and {HEALTH_PORT} are free and that kube and openbao are up"
    )

    # --- locations -------------------------------------------------------
    @property
    def helm_binary(self) -> Path:
        return self.paths.artifacts / f"helm-{HELM_VERSION}" / "helm"

    @property
    def kubectl(self) -> Path:
        """The kubectl the kube-apiserver component links into the cache's bin/."""
        return self.paths.bin / "kubectl"

    @property
    def vault_token_file(self) -> Path:
        """The root token the openbao component keeps (its ``token_file``)."""
        return self.paths.component_dir("openbao") / "root-token"

    @property
    def kubeconfig(self) -> Path:
        """The operator's own kubeconfig: its ServiceAccount's token, not admin."""
        return self.state_dir / "operator.kubeconfig"

    @property
    def target_file(self) -> Path:
        return self.paths.component_dir("prometheus") / "targets" / f"{self.name}.json"

    # --- hooks -------------------------------------------------------------
    def provision(self) -> bool:
        if importlib.util.find_spec("productstore_operator") is None:
            raise DevstackError(
                self.name,
                f"productstore_operator is not importable from {sys.executable}",
                hint=_SYNC_HINT,
            )
        return False

    def endpoints(self) -> dict[str, Endpoint]:
        return {"metrics": Endpoint(HOST, METRICS_PORT), "health": Endpoint(HOST, HEALTH_PORT)}

    def prepare(self) -> None:
        # 0700: the kubeconfig written here holds the operator's token.
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.state_dir.chmod(0o700)
        for path, hint in (
            (self.helm_binary, "run `devstack provision helm`"),
            (self.kubectl, "run `devstack provision kube-apiserver`"),
            (self.vault_token_file, "start OpenBao first: `devstack up openbao`"),
        ):
            if not path.exists():
                raise DevstackError(self.name, f"{path} does not exist", hint=hint)
        self._kubectl_apply(["--filename", str(CRD_FILE)])
        self._wait_established()
        self._kubectl_apply([arg for f in RBAC_FILES for arg in ("--filename", str(MANIFESTS / f))])
        grants = [grant_object(namespace) for namespace in GRANTED_NAMESPACES]
        self._kubectl_apply(
            ["--filename", "-"], stdin=json.dumps(_list([*_reviewer_objects(), *grants]))
        )
        self._kubectl(["delete", "clusterrolebinding", STALE_CLUSTER_BINDING, "--ignore-not-found"])
        self._write_kubeconfig(self._service_account_token())
        self._write_cassandra_admin()
        # Pods' Vault agents log in at auth/kubernetes before any store's pass has
        # configured it (docs/adr/0032).
        vault_kubernetes.configure_kubernetes_auth(
            self.paths, self.vault_token_file.read_text().strip()
        )

    def _write_cassandra_admin(self) -> None:
        """devstack's Cassandra superuser where the operator looks for an external
        Cassandra's administrator (kvPath's cassandra-admin, for every sample store)."""
        bao = hvac.Client(
            url=OPENBAO_ADDR, token=self.vault_token_file.read_text().strip(), timeout=5
        )
        superuser = cassandra_auth.superuser(self.paths)
        bao.secrets.kv.v2.create_or_update_secret(
            path=f"{SAMPLE_KV_PATH}/cassandra-admin",
            secret={"username": superuser.username, "password": superuser.password},
            mount_point="secret",
        )

    def processes(self) -> list[ProcessSpec]:
        env = {
            "KUBECONFIG": str(self.kubeconfig),
            "PRODUCTSTORE_OPERATOR_NAMESPACES": WATCHED_NAMESPACES,
            "PRODUCTSTORE_OPERATOR_HELM": str(self.helm_binary),
            "PRODUCTSTORE_OPERATOR_METRICS_ADDRESS": HOST,
            "PRODUCTSTORE_OPERATOR_METRICS_PORT": str(METRICS_PORT),
            "PRODUCTSTORE_OPERATOR_HEALTH_PORT": str(HEALTH_PORT),
            # A file, not the value, so the token stays out of the environment and `ps`.
            "PRODUCTSTORE_OPERATOR_VAULT_TOKEN_FILE": str(self.vault_token_file),
            # The only Vault stores may name ("default"): OpenBao's dev server speaks
            # plain http on loopback, which the operator refuses unless told.
            "PRODUCTSTORE_OPERATOR_VAULTS": json.dumps(
                [
                    {
                        "name": "default",
                        "address": OPENBAO_ADDR,
                        "podAddress": OPENBAO_POD_ADDR,
                        "insecure": True,
                    }
                ]
            ),
            "PRODUCTSTORE_OPERATOR_ALLOWED_REGISTRIES": f"{PROJECT_REGISTRY},{NODE_IMAGE_REGISTRY}",
            # OpenBao is outside the cluster: it reaches the apiserver on loopback.
            "PRODUCTSTORE_OPERATOR_VAULT_KUBERNETES_HOST": SERVER,
            "PRODUCTSTORE_OPERATOR_VAULT_KUBERNETES_CA_FILE": str(pki_files(self.paths).ca_cert),
            "PRODUCTSTORE_OPERATOR_VAULT_REVIEWER_SERVICE_ACCOUNT": f"{NAMESPACE}/{REVIEWER}",
            # No Prometheus Operator runs here: no scrape rules to write.
            "PRODUCTSTORE_OPERATOR_MONITORING_NAMESPACE": "",
        }
        # helm's homes of its own, apart from any other operator (tests run theirs).
        for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            env[var] = str(self.state_dir / "helm" / var.lower())
        return [
            ProcessSpec(
                name=self.name,
                argv=[sys.executable, "-m", "productstore_operator"],
                env=env,
                cwd=self.state_dir,
            )
        ]

    def ready(self) -> bool:
        # kopf's liveness endpoint answers once the operator has started watching.
        response = httpx.get(f"http://{HOST}:{HEALTH_PORT}/healthz", timeout=2.0)
        return response.status_code == 200

    @property
    def rule_file(self) -> Path:
        """The sample store's rules, in Prometheus's rules/ folder."""
        return self.paths.component_dir("prometheus") / "rules" / sample_store.RULE_FILE

    def after_ready(self) -> None:
        """Let Prometheus scrape the operator's /metrics and load the sample store's rules."""
        targets = [{"targets": [f"{HOST}:{METRICS_PORT}"], "labels": {"service": self.name}}]
        self.write_generated(self.target_file, json.dumps(targets, indent=2) + "\n")
        write_sample_rules(self.rule_file)
        self._reload_prometheus()

    def _reload_prometheus(self) -> None:
        try:
            response = httpx.post(f"{PROMETHEUS_URL}/-/reload", timeout=10.0)
        except httpx.TransportError:
            return  # not running: it reads rules/ when it starts
        if response.status_code != 200:
            raise DevstackError(
                self.name,
                f"Prometheus refused to reload with {self.rule_file.name} "
                f"({response.status_code}): {response.text.strip()}",
                hint=f"promtool check rules {self.rule_file}",
            )

    def purge(self) -> None:
        super().purge()
        self.target_file.unlink(missing_ok=True)
        self.rule_file.unlink(missing_ok=True)

    def env(self) -> dict[str, str]:
        return {"PRODUCTSTORE_OPERATOR_METRICS_URL": METRICS_URL}

    # --- the apiserver -------------------------------------------------------
    def _kubectl_apply(self, args: list[str], stdin: str | None = None) -> None:
        # Server-side: the CRD is bigger than client-side apply's annotation allows.
        self._kubectl(
            ["apply", "--server-side", "--force-conflicts", "--field-manager=devstack", *args],
            stdin,
        )

    def _kubectl(self, args: list[str], stdin: str | None = None) -> None:
        argv = [str(self.kubectl), f"--kubeconfig={kubeconfig(self.paths, 'admin')}", *args]
        result = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise DevstackError(
                self.name,
                f"`kubectl {' '.join(args)}` failed: {result.stderr.strip()}",
                hint=_KUBE_HINT,
            )

    def _wait_established(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        with admin_api(self.paths) as api:
            while time.monotonic() < deadline:
                crd = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}")
                conditions = crd.json().get("status", {}).get("conditions") or []
                if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                    return
                time.sleep(0.5)
        raise DevstackError(
            self.name, f"the CRD {CRD_NAME} is not Established after {WAIT_SECONDS:.0f}s",
            hint=_KUBE_HINT,
        )  # fmt: skip

    def _service_account_token(self) -> str:
        """The token the controller-manager writes into the operator's token Secret."""
        path = f"/api/v1/namespaces/{NAMESPACE}/secrets/{TOKEN_SECRET}"
        deadline = time.monotonic() + WAIT_SECONDS
        with admin_api(self.paths) as api:
            while time.monotonic() < deadline:
                token = api.get(path).json().get("data", {}).get("token")
                if token:
                    return _b64decode(token)
                time.sleep(0.5)
        raise DevstackError(
            self.name,
            f"no token in Secret {NAMESPACE}/{TOKEN_SECRET} after {WAIT_SECONDS:.0f}s",
            hint="the controller-manager fills it: check `devstack logs kube-controller-manager`",
        )

    def _write_kubeconfig(self, token: str) -> None:
        ca = pki_files(self.paths).ca_cert
        cluster = {"server": SERVER, "certificate-authority": str(ca)}
        context = {"cluster": "devstack", "user": SERVICE_ACCOUNT}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "devstack", "cluster": cluster}],
            "users": [{"name": SERVICE_ACCOUNT, "user": {"token": token}}],
            "contexts": [{"name": "operator", "context": context}],
            "current-context": "operator",
        }
        self.write_generated(self.kubeconfig, yaml.safe_dump(config, sort_keys=False))
        self.kubeconfig.chmod(0o600)


def _list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": items}


def _b64decode(text: str) -> str:
    return base64.b64decode(text).decode("ascii")


def write_sample_rules(output: Path) -> None:
    """Write the Prometheus rules the operator renders for the sample store to ``output``.

    The operator's own renderer (``python -m productstore_operator.rule_file``), so
    devstack's Prometheus evaluates exactly what a cluster's would.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            sys.executable, "-m", "productstore_operator.rule_file", str(sample_store.MANIFEST),
            "--namespace", sample_store.NAMESPACE, "--output", str(output),
        ],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        raise DevstackError(
            "operator",
            f"rendering the sample store's rules failed: {result.stderr.strip()[-500:]}",
        )
