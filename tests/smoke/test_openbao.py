"""OpenBao smoke tests: KV v2 round trip, and Kubernetes auth against our apiserver."""

from __future__ import annotations

import contextlib
import uuid

import hvac
import hvac.exceptions
import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from devstack.components.kube import KubeApiserver
from devstack.components.openbao import KV_MOUNT, OpenBao


def _suffix() -> str:
    return uuid.uuid4().hex[:10]


def test_kv_v2_round_trip(openbao: OpenBao) -> None:
    bao = openbao.client()
    path = f"devstack-smoke/kv-{_suffix()}"
    try:
        written = bao.secrets.kv.v2.create_or_update_secret(
            path=path, secret={"user": "shop", "password": "s3cret"}, mount_point=KV_MOUNT
        )
        assert written["data"]["version"] == 1
        bao.secrets.kv.v2.create_or_update_secret(
            path=path, secret={"user": "shop", "password": "rotated"}, mount_point=KV_MOUNT
        )

        latest = bao.secrets.kv.v2.read_secret_version(
            path=path, mount_point=KV_MOUNT, raise_on_deleted_version=True
        )
        assert latest["data"]["data"] == {"user": "shop", "password": "rotated"}
        assert latest["data"]["metadata"]["version"] == 2
        first = bao.secrets.kv.v2.read_secret_version(
            path=path, version=1, mount_point=KV_MOUNT, raise_on_deleted_version=True
        )
        assert first["data"]["data"]["password"] == "s3cret"
    finally:
        bao.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point=KV_MOUNT)


def _sa_token(core: k8s.CoreV1Api, namespace: str, name: str) -> str:
    """A short-lived token for a ServiceAccount from the TokenRequest API."""
    core.create_namespaced_service_account(
        namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name=name))
    )
    # No audiences: the apiserver's own, which is what its TokenReview accepts.
    request = k8s.AuthenticationV1TokenRequest(
        spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=600)
    )
    response = core.create_namespaced_service_account_token(name, namespace, request)
    token: str = response.status.token
    return token


def test_kubernetes_auth_login(
    openbao: OpenBao, kube: KubeApiserver, kube_api: k8s.ApiClient
) -> None:
    suffix = _suffix()
    namespace = f"bao-smoke-{suffix}"
    binding = f"bao-smoke-reviewer-{suffix}"
    mount = f"k8s-smoke-{suffix}"
    policy = f"bao-smoke-{suffix}"
    allowed = f"devstack-smoke/k8s-{suffix}/app"
    denied = f"devstack-smoke/k8s-{suffix}/other"
    core = k8s.CoreV1Api(kube_api)
    rbac = k8s.RbacAuthorizationV1Api(kube_api)
    bao = openbao.client()

    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=namespace)))
    try:
        # OpenBao's reviewer: may call TokenReview (and SubjectAccessReview).
        rbac.create_cluster_role_binding(
            k8s.V1ClusterRoleBinding(
                metadata=k8s.V1ObjectMeta(name=binding),
                role_ref=k8s.V1RoleRef(
                    api_group="rbac.authorization.k8s.io",
                    kind="ClusterRole",
                    name="system:auth-delegator",
                ),
                subjects=[
                    k8s.RbacV1Subject(kind="ServiceAccount", name="reviewer", namespace=namespace)
                ],
            )
        )
        reviewer_token = _sa_token(core, namespace, "reviewer")
        app_token = _sa_token(core, namespace, "app")
        other_token = _sa_token(core, namespace, "other")

        for path in (allowed, denied):
            bao.secrets.kv.v2.create_or_update_secret(
                path=path, secret={"owner": path.rsplit("/", 1)[1]}, mount_point=KV_MOUNT
            )
        bao.sys.enable_auth_method("kubernetes", path=mount)
        bao.auth.kubernetes.configure(
            kubernetes_host=kube.server,
            kubernetes_ca_cert=kube.ca_cert.read_text(),
            token_reviewer_jwt=reviewer_token,
            # OpenBao runs outside any pod: never fall back to a local SA token.
            disable_local_ca_jwt=True,
            mount_point=mount,
        )
        bao.sys.create_or_update_policy(
            name=policy,
            policy=f'path "{KV_MOUNT}/data/{allowed}" {{ capabilities = ["read"] }}',
        )
        bao.auth.kubernetes.create_role(
            name="app",
            bound_service_account_names=["app"],
            bound_service_account_namespaces=[namespace],
            policies=[policy],
            ttl="5m",
            mount_point=mount,
        )

        # The login makes OpenBao send a TokenReview for the app token to our apiserver.
        app = hvac.Client(url=openbao.addr, timeout=10)
        login = app.auth.kubernetes.login(role="app", jwt=app_token, mount_point=mount)
        metadata = login["auth"]["metadata"]
        assert metadata["service_account_name"] == "app"
        assert metadata["service_account_namespace"] == namespace
        assert policy in login["auth"]["policies"]

        secret = app.secrets.kv.v2.read_secret_version(
            path=allowed, mount_point=KV_MOUNT, raise_on_deleted_version=True
        )
        assert secret["data"]["data"] == {"owner": "app"}
        with pytest.raises(hvac.exceptions.Forbidden):
            app.secrets.kv.v2.read_secret_version(
                path=denied, mount_point=KV_MOUNT, raise_on_deleted_version=True
            )

        # A valid token of another ServiceAccount is not bound to the role.
        with pytest.raises(hvac.exceptions.Forbidden):
            hvac.Client(url=openbao.addr, timeout=10).auth.kubernetes.login(
                role="app", jwt=other_token, mount_point=mount
            )
        # The app's claims with a broken signature: only the apiserver's TokenReview
        # can tell (OpenBao has no signing keys configured), so this proves it asked.
        header, claims, signature = app_token.split(".")
        forged = (
            f"{header}.{claims}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
        )
        with pytest.raises(hvac.exceptions.Forbidden):
            hvac.Client(url=openbao.addr, timeout=10).auth.kubernetes.login(
                role="app", jwt=forged, mount_point=mount
            )
    finally:
        with contextlib.suppress(hvac.exceptions.VaultError):
            bao.sys.disable_auth_method(path=mount)
        with contextlib.suppress(hvac.exceptions.VaultError):
            bao.sys.delete_policy(name=policy)
        for path in (allowed, denied):
            with contextlib.suppress(hvac.exceptions.VaultError):
                bao.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point=KV_MOUNT)
        with contextlib.suppress(ApiException):
            rbac.delete_cluster_role_binding(binding)
        with contextlib.suppress(ApiException):
            core.delete_namespace(namespace)
