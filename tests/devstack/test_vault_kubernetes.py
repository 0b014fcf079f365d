"""devstack's OpenBao reviews auth/kubernetes logins with devstack's apiserver,
configured by one idempotent call (run at the operator component's start)."""

from __future__ import annotations

import contextlib
import uuid

import hvac
import hvac.exceptions
import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from devstack.components.kube import KubeApiserver
from devstack.components.kube_cluster import SERVER
from devstack.components.openbao import KV_MOUNT, OpenBao
from devstack.components.vault_kubernetes import MOUNT, configure_kubernetes_auth


def _token(core: k8s.CoreV1Api, namespace: str, name: str) -> str:
    core.create_namespaced_service_account(
        namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name=name))
    )
    request = k8s.AuthenticationV1TokenRequest(
        spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=600)
    )
    token: str = core.create_namespaced_service_account_token(name, namespace, request).status.token
    return token


def test_a_pods_token_logs_in_and_another_namespaces_is_refused(
    openbao: OpenBao, kube: KubeApiserver, kube_api: k8s.ApiClient
) -> None:
    # Twice: the second call finds everything in place and changes nothing that matters.
    configure_kubernetes_auth(openbao.paths, openbao.token)
    configure_kubernetes_auth(openbao.paths, openbao.token)
    bao = openbao.client()
    config = bao.auth.kubernetes.read_config(mount_point=MOUNT)
    config = config.get("data") or config
    assert config["kubernetes_host"] == SERVER
    assert config["kubernetes_ca_cert"] == kube.ca_cert.read_text()
    assert config["token_reviewer_jwt_set"] is True
    assert config["disable_local_ca_jwt"] is True

    suffix = uuid.uuid4().hex[:8]
    namespaces = [f"bao-k8s-{suffix}", f"bao-k8s-other-{suffix}"]
    role, policy, path = f"devstack-test-{suffix}", f"devstack-test-{suffix}", f"bao-k8s/{suffix}"
    core = k8s.CoreV1Api(kube_api)
    try:
        for namespace in namespaces:
            core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=namespace)))
        app, other = (_token(core, namespace, "app") for namespace in namespaces)
        bao.secrets.kv.v2.create_or_update_secret(
            path=path, secret={"owner": "app"}, mount_point=KV_MOUNT
        )
        bao.sys.create_or_update_acl_policy(
            policy, f'path "{KV_MOUNT}/data/{path}" {{ capabilities = ["read"] }}'
        )
        bao.auth.kubernetes.create_role(
            role,
            bound_service_account_names=["app"],
            bound_service_account_namespaces=[namespaces[0]],
            policies=[policy],
            ttl="5m",
            mount_point=MOUNT,
        )
        # OpenBao asks the apiserver (TokenReview, with the reviewer's token).
        client = hvac.Client(url=openbao.addr, timeout=10)
        client.auth.kubernetes.login(role=role, jwt=app, mount_point=MOUNT)
        read = client.secrets.kv.v2.read_secret_version(
            path=path, mount_point=KV_MOUNT, raise_on_deleted_version=True
        )
        assert read["data"]["data"] == {"owner": "app"}
        with pytest.raises(hvac.exceptions.Forbidden, match="namespace not authorized"):
            hvac.Client(url=openbao.addr, timeout=10).auth.kubernetes.login(
                role=role, jwt=other, mount_point=MOUNT
            )
    finally:
        with contextlib.suppress(hvac.exceptions.VaultError):
            bao.auth.kubernetes.delete_role(role, mount_point=MOUNT)
        with contextlib.suppress(hvac.exceptions.VaultError):
            bao.sys.delete_acl_policy(policy)
        with contextlib.suppress(hvac.exceptions.VaultError):
            bao.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point=KV_MOUNT)
        for namespace in namespaces:
            with contextlib.suppress(ApiException):
                core.delete_namespace(namespace)
