"""The operator as a real process against devstack, and the helpers its tests share.

Each test gets its own namespace, and its operator its own configured Vaults
(auth mount, KV path and role prefix with uuid suffixes), so tests run in any
order and beside other sessions.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import hvac
import hvac.exceptions
from kubernetes import client
from kubernetes.client.rest import ApiException

from devstack.components.helm import Helm
from devstack.components.kube import KubeApiserver
from devstack.components.openbao import OpenBao
from productstore_operator.builders import StoreRef
from productstore_operator.builders.naming import vault_role_prefix
from productstore_operator.models import GROUP, PLURAL, VERSION
from tests.operator.spec_cases import load_sample
from tests.support.helm import HelmCli
from tests.support.stores import drop_store_keyspaces, write_cassandra_admin

T = TypeVar("T")
# Generous: 2 shared cores, helm renders ~60 objects per store.
CONVERGE_TIMEOUT = 240.0
REVIEWER = "vault-reviewer"
CHART = Path(__file__).resolve().parents[3] / "charts" / "productstore"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = CONVERGE_TIMEOUT) -> T:
    """Poll ``probe`` until it returns something other than None (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = probe()
        if answer is not None:
            return answer
        time.sleep(1.0)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Sandbox:
    """One test's namespace and Vault names, with the reviewer Vault needs."""

    namespace: str
    suffix: str
    api: client.ApiClient
    # Every store applied here, deleted since or not: their keyspaces go at the end.
    applied: set[str] = field(default_factory=set)

    @property
    def auth_mount(self) -> str:
        return f"k8s-op-{self.suffix}"

    @property
    def kv_path(self) -> str:
        return f"op-test-{self.suffix}"

    @property
    def role_prefix(self) -> str:
        return f"op-{self.suffix}"

    def vaults(self, address: str) -> list[dict[str, Any]]:
        """The operator's --vaults: devstack's OpenBao as "default", and "down" (the
        discard port on loopback, where nothing answers) with the same names."""
        names = {
            "authMount": self.auth_mount,
            "kvPath": self.kv_path,
            "rolePrefix": self.role_prefix,
            "insecure": True,
        }
        return [
            {"name": "default", "address": address, **names},
            {"name": "down", "address": "http://127.0.0.1:9", **names},
        ]

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def store(self, name: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return found

    def apply_store(self, name: str, spec: dict[str, Any]) -> None:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ProductStore",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": spec,
        }
        self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, body)
        self.applied.add(name)

    def patch_spec(self, name: str, spec: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, {"spec": spec}
        )

    def condition(self, name: str, condition_type: str) -> dict[str, Any] | None:
        store = self.store(name) or {}
        return next(
            (
                c
                for c in (store.get("status") or {}).get("conditions") or []
                if c["type"] == condition_type
            ),
            None,
        )

    def wait_ready(self, name: str, generation: int | None = None) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            store = self.store(name) or {}
            status = store.get("status") or {}
            wanted = generation or store.get("metadata", {}).get("generation")
            if status.get("phase") == "Ready" and status.get("observedGeneration") == wanted:
                return store
            return None

        return wait_for(f"ProductStore {name} Ready", ready)

    def events(self, name: str) -> list[Any]:
        found = client.CoreV1Api(self.api).list_namespaced_event(
            self.namespace, field_selector=f"involvedObject.name={name}"
        )
        return list(found.items)

    def wait_events(self, name: str, reasons: set[str]) -> list[Any]:
        """The object's events once all of ``reasons`` are among them.

        kopf posts a pass's events from a queue after the pass, so the status
        (or the objects) the pass wrote can be seen a moment before them.
        """

        def posted() -> list[Any] | None:
            found = self.events(name)
            return found if reasons <= {e.reason for e in found} else None

        return wait_for(f"events {sorted(reasons)} on {name}", posted)


@contextlib.contextmanager
def sandbox(api: client.ApiClient, openbao: OpenBao) -> Iterator[Sandbox]:
    """A namespace with a reviewer ServiceAccount bound to system:auth-delegator."""
    suffix = uuid.uuid4().hex[:8]
    box = Sandbox(namespace=f"ps-op-{suffix}", suffix=suffix, api=api)
    core = client.CoreV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    binding = f"ps-op-{suffix}-vault-reviewer"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=box.namespace)))
    core.create_namespaced_service_account(
        box.namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=REVIEWER))
    )
    rbac.create_cluster_role_binding(
        client.V1ClusterRoleBinding(
            metadata=client.V1ObjectMeta(name=binding),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io",
                kind="ClusterRole",
                name="system:auth-delegator",
            ),
            subjects=[
                client.RbacV1Subject(kind="ServiceAccount", name=REVIEWER, namespace=box.namespace)
            ],
        )
    )
    write_cassandra_admin(openbao, box.kv_path)
    try:
        yield box
    finally:
        bao = openbao.client()
        with contextlib.suppress(hvac.exceptions.VaultError):
            bao.sys.disable_auth_method(path=box.auth_mount)
        with contextlib.suppress(hvac.exceptions.VaultError):
            for policy in bao.sys.list_acl_policies()["data"]["keys"]:
                if policy.startswith(box.role_prefix):
                    bao.sys.delete_acl_policy(policy)
        _delete_kv_tree(bao, box.kv_path)
        with contextlib.suppress(ApiException):
            rbac.delete_cluster_role_binding(binding)
        _drop_finalizers(box)
        with contextlib.suppress(ApiException):
            core.delete_namespace(box.namespace)
        drop_store_keyspaces([StoreRef(name, box.namespace) for name in sorted(box.applied)])


def _delete_kv_tree(bao: hvac.Client, path: str) -> None:
    try:
        keys = bao.secrets.kv.v2.list_secrets(path=path, mount_point="secret")["data"]["keys"]
    except hvac.exceptions.VaultError:
        return
    for key in keys:
        child = f"{path}/{key.rstrip('/')}"
        if key.endswith("/"):
            _delete_kv_tree(bao, child)
        else:
            bao.secrets.kv.v2.delete_metadata_and_all_versions(path=child, mount_point="secret")


def _drop_finalizers(box: Sandbox) -> None:
    """Lets the namespace go even when a test stopped the operator with stores left."""
    with contextlib.suppress(ApiException):
        stores = box.custom.list_namespaced_custom_object(GROUP, VERSION, box.namespace, PLURAL)
        for store in stores["items"]:
            box.custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                box.namespace,
                PLURAL,
                store["metadata"]["name"],
                {"metadata": {"finalizers": None}},
            )


class OperatorProcess:
    """``python -m productstore_operator --namespace <ns>`` wired to devstack."""

    def __init__(
        self,
        box: Sandbox,
        kube: KubeApiserver,
        helm: Helm,
        openbao: OpenBao,
        log_dir: Path,
        *,
        resync_seconds: float = 5.0,
    ) -> None:
        self.box = box
        self.log_dir = log_dir
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PRODUCTSTORE_OPERATOR_")},
            "KUBECONFIG": str(kube.kubeconfig),
            "PRODUCTSTORE_OPERATOR_HELM": str(helm.binary),
            "PRODUCTSTORE_OPERATOR_VAULT_TOKEN_FILE": str(openbao.token_file),
            "PRODUCTSTORE_OPERATOR_VAULTS": json.dumps(box.vaults(openbao.addr)),
            "PRODUCTSTORE_OPERATOR_VAULT_KUBERNETES_HOST": kube.server,
            "PRODUCTSTORE_OPERATOR_VAULT_KUBERNETES_CA_FILE": str(kube.ca_cert),
            "PRODUCTSTORE_OPERATOR_VAULT_REVIEWER_SERVICE_ACCOUNT": f"{box.namespace}/{REVIEWER}",
            "PRODUCTSTORE_OPERATOR_RESYNC_SECONDS": str(resync_seconds),
            "PRODUCTSTORE_OPERATOR_METRICS_ADDRESS": "127.0.0.1",
            "PRODUCTSTORE_OPERATOR_METRICS_PORT": str(self.metrics_port),
            "PRODUCTSTORE_OPERATOR_HEALTH_PORT": str(self.health_port),
            # Each test's helm keeps its caches apart.
            "HELM_CACHE_HOME": str(log_dir / "helm-cache"),
            "HELM_CONFIG_HOME": str(log_dir / "helm-config"),
            "HELM_DATA_HOME": str(log_dir / "helm-data"),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        # What --namespace watches: the sandbox, or a kopf glob a test sets.
        self.watch = box.namespace

    @property
    def log(self) -> Path:
        return self.log_dir / f"operator-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "productstore_operator", "--namespace", self.watch],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def logs(self) -> str:
        return "\n".join(
            (self.log_dir / f"operator-{n}.log").read_text(errors="replace")
            for n in range(1, self.starts + 1)
        )


def release_history(helm: Helm, kube: KubeApiserver, box: Sandbox, home: Path) -> list[Any]:
    cli = HelmCli(helm, home, kube.kubeconfig)
    result = cli.run(
        "history", "shop", "--namespace", box.namespace, "--output", "json", check=False
    )
    if result.returncode != 0:
        assert "not found" in result.stderr, result.stderr
        return []
    entries: list[Any] = json.loads(result.stdout)
    return entries


@dataclass
class Harness:
    """A test's sandbox, its running operator and the devstack servers."""

    box: Sandbox
    operator: OperatorProcess
    openbao: OpenBao
    helm: Helm
    kube: KubeApiserver
    tmp_path: Path

    def history(self) -> list[Any]:
        return release_history(self.helm, self.kube, self.box, self.tmp_path / "helm-cli")


def devstack_spec(box: Sandbox, openbao: OpenBao) -> dict[str, Any]:
    """The devstack sample: its Vault "default" is the sandbox's (see Sandbox.vaults)."""
    spec: dict[str, Any] = copy.deepcopy(load_sample("productstore-devstack")["spec"])
    return spec


def role_prefix(box: Sandbox, store: str = "shop") -> str:
    """The prefix of a store's role and policy names in the sandbox's Vault."""
    return vault_role_prefix(box.role_prefix, StoreRef(store, box.namespace))


def deployments(box: Sandbox) -> dict[str, Any]:
    found = client.AppsV1Api(box.api).list_namespaced_deployment(box.namespace)
    return {d.metadata.name: d for d in found.items}


def sa_token(box: Sandbox, service_account: str) -> str:
    """A TokenRequest JWT of ``service_account``, as the kubelet mounts into its Pods."""
    core = client.CoreV1Api(box.api)
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)
    )
    jwt: str = core.create_namespaced_service_account_token(
        service_account, box.namespace, request
    ).status.token
    return jwt


def sa_login(openbao: OpenBao, box: Sandbox, service_account: str, role: str) -> hvac.Client:
    """Log in to OpenBao as a Pod of ``service_account`` would (TokenRequest JWT)."""
    bao = hvac.Client(url=openbao.addr, timeout=10)
    bao.auth.kubernetes.login(
        role=role, jwt=sa_token(box, service_account), mount_point=box.auth_mount
    )
    return bao


def read_secret(bao: hvac.Client, path: str) -> dict[str, Any]:
    data: dict[str, Any] = bao.secrets.kv.v2.read_secret_version(
        path=path, mount_point="secret", raise_on_deleted_version=True
    )["data"]["data"]
    return data


def roles(openbao: OpenBao, box: Sandbox) -> list[str]:
    bao = openbao.client()
    try:
        keys: list[str] = bao.auth.kubernetes.list_roles(mount_point=box.auth_mount)["keys"]
    except hvac.exceptions.InvalidPath:
        return []
    return keys


def policies(openbao: OpenBao, box: Sandbox) -> list[str]:
    keys = openbao.client().sys.list_acl_policies()["data"]["keys"]
    return [k for k in keys if k.startswith(box.role_prefix)]
