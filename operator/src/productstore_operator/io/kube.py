"""The Kubernetes API through the official client, on worker threads.

Objects go in and come out as plain dicts (the API's JSON), so the reconcile
and the builders never see the client's model classes. A create that meets
409 reads the existing object instead; a delete that meets 404 is done.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

import urllib3.exceptions
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from productstore_operator.io.errors import TransientError

T = TypeVar("T")
NOT_FOUND: Final = 404
CONFLICT: Final = 409


def api_client(kubeconfig: Path | None) -> client.ApiClient:
    """In a Pod the ServiceAccount's credentials, elsewhere the kubeconfig."""
    if os.environ.get("KUBERNETES_SERVICE_HOST") and kubeconfig is None:
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    return config.new_client_from_config(config_file=str(kubeconfig) if kubeconfig else None)


class Kube:
    """The calls the reconcile makes, each on a worker thread."""

    def __init__(self, api: client.ApiClient) -> None:
        self._api = api
        self._custom = client.CustomObjectsApi(api)
        self._core = client.CoreV1Api(api)
        self._authz = client.AuthorizationV1Api(api)

    async def _call(self, what: str, operation: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(operation)
        except ApiException as exc:
            raise TransientError(
                f"Kubernetes API refused to {what}: {exc.status} {exc.reason}: {_message(exc)}"
            ) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransientError(f"Kubernetes API unreachable ({what}): {exc}") from exc

    async def get(
        self, group: str, version: str, plural: str, namespace: str, name: str
    ) -> dict[str, Any] | None:
        """The object, or None if it does not exist."""

        def read() -> dict[str, Any] | None:
            try:
                found: dict[str, Any] = self._custom.get_namespaced_custom_object(
                    group, version, namespace, plural, name
                )
            except ApiException as exc:
                if exc.status == NOT_FOUND:
                    return None
                raise
            return found

        return await self._call(f"read {plural}/{name}", read)

    async def list(
        self, group: str, version: str, plural: str, namespace: str, selector: str
    ) -> list[dict[str, Any]]:
        """Objects of a namespaced kind matching ``selector``; group "" is the core API."""
        prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"

        def read() -> list[dict[str, Any]]:
            try:
                found: dict[str, Any] = self._api.call_api(
                    f"{prefix}/namespaces/{{namespace}}/{plural}",
                    "GET",
                    path_params={"namespace": namespace},
                    query_params=[("labelSelector", selector)],
                    header_params={"Accept": "application/json"},
                    response_type="object",
                    auth_settings=["BearerToken"],
                    _return_http_data_only=True,
                )
            except ApiException as exc:
                # A kind whose CRD is not installed has no objects.
                if exc.status == NOT_FOUND:
                    return []
                raise
            items: list[dict[str, Any]] = found.get("items") or []
            return items

        return await self._call(f"list {plural}", read)

    async def create(
        self, group: str, version: str, plural: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Create ``body``; if it exists already, the existing object."""
        namespace = body["metadata"]["namespace"]
        name = body["metadata"]["name"]

        def create() -> dict[str, Any]:
            try:
                created: dict[str, Any] = self._custom.create_namespaced_custom_object(
                    group, version, namespace, plural, dict(body)
                )
            except ApiException as exc:
                if exc.status != CONFLICT:
                    raise
                existing: dict[str, Any] = self._custom.get_namespaced_custom_object(
                    group, version, namespace, plural, name
                )
                return existing
            return created

        return await self._call(f"create {plural}/{name}", create)

    async def patch(
        self,
        group: str,
        version: str,
        plural: str,
        namespace: str,
        name: str,
        *,
        changes: Mapping[str, Any],
    ) -> dict[str, Any]:
        """JSON merge patch: fields not in ``changes`` (the server's) stay as they are."""

        def apply() -> dict[str, Any]:
            # This client version sends custom-object patches as merge patches.
            patched: dict[str, Any] = self._custom.patch_namespaced_custom_object(
                group, version, namespace, plural, name, dict(changes)
            )
            return patched

        return await self._call(f"patch {plural}/{name}", apply)

    async def delete(
        self, group: str, version: str, plural: str, namespace: str, name: str
    ) -> None:
        """Delete the object; one that is already gone is fine."""

        def delete() -> None:
            try:
                self._custom.delete_namespaced_custom_object(
                    group, version, namespace, plural, name
                )
            except ApiException as exc:
                if exc.status != NOT_FOUND:
                    raise

        await self._call(f"delete {plural}/{name}", delete)

    # --- Secrets (core/v1): read and written whole, as the API's JSON ----------

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Secret, or None if it does not exist."""

        def read() -> dict[str, Any] | None:
            try:
                answer = self._core.read_namespaced_secret(name, namespace, _preload_content=False)
            except ApiException as exc:
                if exc.status == NOT_FOUND:
                    return None
                raise
            found: dict[str, Any] = json.loads(answer.data)
            return found

        return await self._call(f"read secrets/{name}", read)

    async def create_secret(self, body: Mapping[str, Any]) -> None:
        namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]

        def create() -> None:
            self._core.create_namespaced_secret(namespace, dict(body), _preload_content=False)

        await self._call(f"create secrets/{name}", create)

    async def patch_secret(self, namespace: str, name: str, changes: Mapping[str, Any]) -> None:
        """Strategic merge patch: keys and labels not in ``changes`` stay."""

        def patch() -> None:
            self._core.patch_namespaced_secret(
                name, namespace, dict(changes), _preload_content=False
            )

        await self._call(f"patch secrets/{name}", patch)

    async def delete_secret(self, namespace: str, name: str) -> None:
        """Delete the Secret; one that is already gone is fine."""

        def delete() -> None:
            try:
                self._core.delete_namespaced_secret(name, namespace, _preload_content=False)
            except ApiException as exc:
                if exc.status != NOT_FOUND:
                    raise

        await self._call(f"delete secrets/{name}", delete)

    async def can_i(self, verb: str, group: str, resource: str, namespace: str) -> bool:
        """The apiserver's verdict on the operator's own access (a SelfSubjectAccessReview,
        which every authenticated account may ask)."""
        review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    verb=verb, group=group, resource=resource, namespace=namespace
                )
            )
        )

        def ask() -> bool:
            answer = self._authz.create_self_subject_access_review(review)
            return bool(answer.status.allowed)

        return await self._call(f"review its access to {resource} in {namespace}", ask)

    async def service_account_token(self, namespace: str, name: str, seconds: int) -> str:
        """A TokenRequest token of a ServiceAccount, for the apiserver's own audience."""
        return await asyncio.to_thread(self.service_account_token_now, namespace, name, seconds)

    def service_account_token_now(self, namespace: str, name: str, seconds: int) -> str:
        """``service_account_token`` for code already on a worker thread (hvac's)."""
        body = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
        )
        try:
            response = self._core.create_namespaced_service_account_token(name, namespace, body)
        except ApiException as exc:
            raise TransientError(
                f"Kubernetes API refused a token of {namespace}/{name}: {exc.status} "
                f"{exc.reason}: {_message(exc)}"
            ) from exc
        token: str = response.status.token
        return token

    def close(self) -> None:
        self._api.close()


def _message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        return str(exc.body)
    return str(body.get("message", exc.body))
