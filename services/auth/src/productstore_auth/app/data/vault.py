"""The signing-key set in OpenBao/Vault KV v2 (hvac), the production key store.

The set is one secret (`<kv mount>/<keys path>`); writes use KV v2's
check-and-set (`cas`) so two replicas rotating at once cannot overwrite each
other. The client logs in with a token or with Kubernetes auth (the pod's
service-account token), and logs in again once when Vault answers 403 because
that login expired. hvac is blocking: every call runs on a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import hvac
import hvac.exceptions

from productstore_auth.app.core.keys import KeySet, StoredKey, decode_document, encode_document

_logger = logging.getLogger(__name__)
T = TypeVar("T")


class VaultUnavailableError(Exception):
    """Vault could not be reached or refused us; the message says which and why."""


class VaultKeyStore:
    name = "vault"

    def __init__(
        self,
        *,
        addr: str,
        mount: str,
        path: str,
        token: str | None = None,
        kubernetes_role: str | None = None,
        kubernetes_mount: str = "kubernetes",
        kubernetes_token_file: Path | None = None,
        timeout: float = 5.0,
    ) -> None:
        if token is None and kubernetes_role is None:
            raise ValueError("VaultKeyStore needs a token or a Kubernetes auth role")
        self.addr = addr
        self.mount = mount
        self.path = path
        self._token = token
        self._role = kubernetes_role
        self._kubernetes_mount = kubernetes_mount
        self._kubernetes_token_file = kubernetes_token_file
        self._client = hvac.Client(url=addr, token=token, timeout=timeout)
        self._login_lock = threading.Lock()
        self._logged_in = token is not None

    def _login(self) -> None:
        with self._login_lock:
            if self._role is None or self._kubernetes_token_file is None:
                return  # a static token cannot be renewed by logging in again
            jwt = self._kubernetes_token_file.read_text(encoding="utf-8").strip()
            self._client.auth.kubernetes.login(
                role=self._role, jwt=jwt, mount_point=self._kubernetes_mount
            )
            self._logged_in = True

    def _call(self, operation: Callable[[], T], what: str) -> T:
        if not self._logged_in:
            self._login()
        try:
            return operation()
        except hvac.exceptions.Forbidden:
            if self._role is None:
                raise VaultUnavailableError(
                    f"Vault at {self.addr} refused to {what} (403): check the token's policy"
                ) from None
            _logger.info("Vault answered 403; logging in again with Kubernetes auth")
            self._login()
            return operation()
        except (OSError, hvac.exceptions.VaultDown) as exc:  # requests' errors are OSErrors
            raise VaultUnavailableError(f"Vault at {self.addr} is unreachable: {exc}") from exc

    def _read(self) -> KeySet:
        try:
            response: dict[str, Any] = self._client.secrets.kv.v2.read_secret_version(
                path=self.path, mount_point=self.mount, raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath:
            return KeySet((), None)
        data = response["data"]
        return KeySet(decode_document(data["data"]), int(data["metadata"]["version"]))

    def _write(self, keys: Sequence[StoredKey], expected_version: int | None) -> bool:
        try:
            self._client.secrets.kv.v2.create_or_update_secret(
                path=self.path,
                secret=encode_document(keys),
                # cas=0: write only if the secret does not exist yet.
                cas=expected_version or 0,
                mount_point=self.mount,
            )
        except hvac.exceptions.InvalidRequest as exc:
            if "check-and-set" in str(exc):
                return False
            raise
        return True

    async def load(self) -> KeySet:
        return await asyncio.to_thread(self._call, self._read, "read the signing keys")

    async def save(self, keys: Sequence[StoredKey], expected_version: int | None) -> bool:
        return await asyncio.to_thread(
            self._call, lambda: self._write(keys, expected_version), "write the signing keys"
        )

    def close(self) -> None:
        self._client.adapter.close()
