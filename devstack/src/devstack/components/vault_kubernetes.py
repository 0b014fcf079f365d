"""devstack's OpenBao trusts devstack's apiserver: Kubernetes auth at auth/kubernetes.

The chart's Vault agent (docs/adr/0032) logs in there with its Pod's
ServiceAccount token. OpenBao runs outside the cluster, so it cannot use a
token of its own Pod to ask the apiserver whether a login token is real: it
sends the TokenReview with the token of the reviewer account the operator
already uses (``system:auth-delegator``). The operator configures each store's
auth mount itself on its passes (``productstore_operator.io.vault``), with the
same host, CA and reviewer but a TokenRequest token it renews; this sets the
mount up before any store is reconciled, with the reviewer's token Secret (which
does not expire), so logins also work while no operator runs.

Idempotent: the operator component runs it at every start, and anyone can run
it against a running devstack without restarting OpenBao: `devstack
vault-kubernetes`.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import hvac

from devstack.components.kube_cluster import SERVER, admin_api, pki_files
from devstack.errors import DevstackError
from devstack.paths import Paths

# The operator's default authMount (its Vault "default" in devstack).
MOUNT = "kubernetes"
# openbao.py's ADDR (components do not import each other).
OPENBAO_ADDR = "http://127.0.0.1:8200"
# The operator's namespace and its Vault reviewer (components/operator.py).
NAMESPACE = "productstore-system"
REVIEWER = "productstore-operator-vault-reviewer"
# A legacy token Secret: the controller-manager fills it with a token that does not
# expire, so a long-running devstack never loses its reviews.
REVIEWER_TOKEN_SECRET = f"{REVIEWER}-token"
WAIT_SECONDS = 60.0
_COMPONENT = "openbao"
_LABELS = {"app.kubernetes.io/part-of": "productstore"}


def reviewer_objects() -> list[dict[str, Any]]:
    """The reviewer's ServiceAccount, its right to review tokens, and its token Secret."""
    rbac = "rbac.authorization.k8s.io"
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": REVIEWER, "namespace": NAMESPACE, "labels": _LABELS},
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": REVIEWER, "labels": _LABELS},
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "system:auth-delegator"},
            "subjects": [{"kind": "ServiceAccount", "name": REVIEWER, "namespace": NAMESPACE}],
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": REVIEWER_TOKEN_SECRET,
                "namespace": NAMESPACE,
                "labels": _LABELS,
                "annotations": {"kubernetes.io/service-account.name": REVIEWER},
            },
        },
    ]


def _collection(item: dict[str, Any]) -> str:
    kind = item["kind"]
    if kind == "ClusterRoleBinding":
        return "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
    if kind == "Namespace":
        return "/api/v1/namespaces"
    plural = {"ServiceAccount": "serviceaccounts", "Secret": "secrets"}[kind]
    return f"/api/v1/namespaces/{item['metadata']['namespace']}/{plural}"


def _create(api: httpx.Client, item: dict[str, Any]) -> None:
    """Create ``item``; one that exists already (409) is left as it is."""
    response = api.post(_collection(item), json=item)
    if response.is_success or response.status_code == 409:
        return
    raise DevstackError(
        _COMPONENT,
        f"creating {item['kind']} {item['metadata']['name']} failed: HTTP "
        f"{response.status_code} {response.text[:300]}",
        hint="check that the control plane runs (`devstack up kube`) and its log",
    )


def _reviewer_token(api: httpx.Client) -> str:
    path = f"/api/v1/namespaces/{NAMESPACE}/secrets/{REVIEWER_TOKEN_SECRET}"
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        token = api.get(path).json().get("data", {}).get("token")
        if token:
            return base64.b64decode(token).decode()
        time.sleep(0.5)
    raise DevstackError(
        _COMPONENT,
        f"no token in Secret {NAMESPACE}/{REVIEWER_TOKEN_SECRET} after {WAIT_SECONDS:.0f}s",
        hint="the controller-manager fills it: check `devstack logs kube-controller-manager`",
    )


def configure_kubernetes_auth(paths: Paths, vault_token: str) -> None:
    """Make devstack's OpenBao review auth/kubernetes logins with devstack's apiserver.

    Creates what is missing (the operator's namespace, the reviewer and its token
    Secret), enables the method if it is not, and writes its configuration.
    """
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": _LABELS},
    }
    with admin_api(paths) as api:
        for item in (namespace, *reviewer_objects()):
            _create(api, item)
        reviewer = _reviewer_token(api)
    bao = hvac.Client(url=OPENBAO_ADDR, token=vault_token, timeout=10)
    methods: dict[str, Any] = bao.sys.list_auth_methods()["data"]
    current = methods.get(f"{MOUNT}/")
    if current is None:
        bao.sys.enable_auth_method("kubernetes", path=MOUNT)
    elif current.get("type") != "kubernetes":
        raise DevstackError(
            _COMPONENT,
            f"auth/{MOUNT} is a {current.get('type')!r} method, not kubernetes",
            hint=f"disable it (`bao auth disable {MOUNT}`) and run this again",
        )
    bao.auth.kubernetes.configure(
        kubernetes_host=SERVER,
        kubernetes_ca_cert=pki_files(paths).ca_cert.read_text(),
        token_reviewer_jwt=reviewer,
        # Outside any Pod: never fall back to a local ServiceAccount token.
        disable_local_ca_jwt=True,
        mount_point=MOUNT,
    )
