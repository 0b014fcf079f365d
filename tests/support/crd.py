"""The ProductStore CRD as generated now, installed on devstack's apiserver and served.

The CRD is cluster-wide and outlives a test session (devstack keeps etcd's data),
so any test that sends a ProductStore to the apiserver must install the CRD of
this checkout first, never trust the one it finds.
"""

from __future__ import annotations

import time
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from productstore_operator.crd import build_crd
from productstore_operator.models import CRD_NAME, GROUP, PLURAL, VERSION, ProductStoreSpec
from tests.operator.spec_cases import load_sample

# Generous for a busy 2-core machine; these take well under a second when idle.
ESTABLISH_TIMEOUT = 60.0


def _create_or_replace(extensions: client.ApiextensionsV1Api, body: dict[str, Any]) -> None:
    for _ in range(10):
        try:
            extensions.create_custom_resource_definition(body)
        except ApiException as exc:
            if exc.status != 409:
                raise
        else:
            return
        current = extensions.read_custom_resource_definition(CRD_NAME)
        replacement = {
            **body,
            "metadata": {**body["metadata"], "resourceVersion": current.metadata.resource_version},
        }
        try:
            extensions.replace_custom_resource_definition(CRD_NAME, replacement)
        except ApiException as exc:
            # Another test session replaced it in between: read again and retry.
            if exc.status != 409:
                raise
        else:
            return
    raise AssertionError(f"could not install {CRD_NAME}: it kept changing under us")


def _dry_run_create(api: client.ApiClient, namespace: str, body: dict[str, Any]) -> Any:
    return client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, body, dry_run="All", field_validation="Strict"
    )


def install_generated_crd(kube_api: client.ApiClient) -> dict[str, Any]:
    """The CRD as generated now, installed and served.

    The CRD is cluster-wide and shared with concurrent sessions, so it is
    created or replaced, never deleted.
    """
    crd = build_crd()
    extensions = client.ApiextensionsV1Api(kube_api)
    _create_or_replace(extensions, crd)

    minimal = load_sample("productstore-minimal")
    expected = ProductStoreSpec.model_validate(minimal["spec"]).model_dump(
        mode="json", exclude_none=True
    )
    deadline = time.monotonic() + ESTABLISH_TIMEOUT
    served: Any = None
    while time.monotonic() < deadline:
        conditions = extensions.read_custom_resource_definition(CRD_NAME).status.conditions or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            # A replaced schema reaches the request handlers a moment after the
            # update: wait until the defaults we generated are the ones applied.
            try:
                served = _dry_run_create(kube_api, "default", minimal)["spec"]
            except ApiException as exc:
                served = exc.body
            if served == expected:
                return crd
        time.sleep(0.5)
    raise AssertionError(f"{CRD_NAME} not serving the generated schema: last answer {served}")
