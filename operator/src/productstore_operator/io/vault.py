"""Vault (or OpenBao) through hvac: mounts, the Kubernetes auth method, policies,
roles and the store's generated secrets.

hvac is blocking, so every public coroutine runs its calls on a worker thread;
each call is idempotent (read, compare, write only what differs), so a
reconcile that runs twice writes nothing the second time.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import requests

from productstore_operator.builders.vault import (
    SERVICE_CLIENTS_KEY,
    GeneratedSecret,
    VaultConfig,
    VaultNames,
    VaultPolicy,
    VaultRole,
    service_clients_entry,
)
from productstore_operator.io.errors import TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")
_DURATION = re.compile(r"(\d+)([hms])")
_SECONDS = {"h": 3600, "m": 60, "s": 1}
_STATUS: dict[type[hvac.exceptions.VaultError], int] = {
    hvac.exceptions.InvalidRequest: 400,
    hvac.exceptions.Unauthorized: 401,
    hvac.exceptions.Forbidden: 403,
    hvac.exceptions.InvalidPath: 404,
    hvac.exceptions.RateLimitExceeded: 429,
    hvac.exceptions.InternalServerError: 500,
    hvac.exceptions.VaultNotInitialized: 501,
    hvac.exceptions.BadGateway: 502,
    hvac.exceptions.VaultDown: 503,
}


@dataclass(frozen=True)
class KubernetesAuth:
    """What the Kubernetes auth method is configured with."""

    host: str
    ca_pem: str | None
    # Called only when the method needs (re)configuring: TokenRequest costs a call.
    reviewer_jwt: Callable[[], str] | None
    # Configure again after this long, before the reviewer token expires.
    refresh_seconds: float


@dataclass(frozen=True)
class VaultChanges:
    """What one ``ensure_store`` wrote; empty lists when everything was in place."""

    created_secrets: list[str]
    written_policies: list[str]
    written_roles: list[str]
    removed: list[str]
    configured_auth: bool
    # auth's service-client list (re)written: a client was added, removed or rotated.
    wrote_service_clients: bool = False


def _seconds(duration: str | int) -> int:
    if isinstance(duration, int):
        return duration
    return sum(int(n) * _SECONDS[unit] for n, unit in _DURATION.findall(duration))


class VaultAdmin:
    """One configured Vault server, as the operator's token sees it.

    Failures become TransientErrors whose message names the Vault, the status
    code and the operation, never what the server answered: the message goes
    into the store's status and events, which the store's users read. The
    server's answer is logged for the operator's own operators.
    """

    def __init__(
        self,
        address: str,
        token: str | None,
        *,
        name: str = "default",
        verify: bool | str = True,
        timeout: float = 10.0,
    ) -> None:
        self.address = address
        self.name = name
        self._client = hvac.Client(url=address, token=token, timeout=timeout, verify=verify)
        # (auth mount) -> monotonic time this process last configured it.
        self._configured_at: dict[str, float] = {}
        self._auth_lock = threading.Lock()

    def failure(self, what: str, exc: Exception) -> TransientError:
        """The error a status may show for ``exc``; the remote details go to the log only."""
        log.warning("Vault %r at %s: %s failed: %r", self.name, self.address, what, exc)
        if isinstance(exc, hvac.exceptions.VaultError):
            status = _STATUS.get(type(exc))
            answered = f"answered {status}" if status else "gave an unexpected answer"
            hint = (
                ": give the operator's token a policy that allows it"
                if isinstance(exc, hvac.exceptions.Forbidden)
                else ""
            )
            return TransientError(f"Vault '{self.name}' {answered} to {what}{hint}")
        if isinstance(exc, requests.exceptions.SSLError):
            return TransientError(
                f"Vault '{self.name}': TLS verification failed to {what} (check its caFile "
                "in the operator's configuration)"
            )
        return TransientError(f"Vault '{self.name}' is unreachable ({type(exc).__name__})")

    def _call(self, what: str, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except (hvac.exceptions.VaultError, requests.RequestException, OSError) as exc:
            raise self.failure(what, exc) from exc

    # --- engines and auth methods -----------------------------------------

    def _ensure_kv_v2(self, mount: str) -> None:
        mounts = self._call("list secrets engines", self._client.sys.list_mounted_secrets_engines)
        current = (mounts.get("data") or mounts).get(f"{mount}/")
        if current is None:
            self._call(
                f"enable KV v2 at {mount}/",
                lambda: self._client.sys.enable_secrets_engine(
                    backend_type="kv", path=mount, options={"version": "2"}
                ),
            )
        elif current.get("type") != "kv" or (current.get("options") or {}).get("version") != "2":
            raise TransientError(
                f"Vault '{self.name}': {mount}/ is not a KV version 2 engine: set the "
                "Vault's kvMount in the operator's configuration to a KV v2 mount"
            )

    def _ensure_kubernetes_auth(self, mount: str, auth: KubernetesAuth) -> bool:
        with self._auth_lock:
            methods = self._call("list auth methods", self._client.sys.list_auth_methods)
            current = (methods.get("data") or methods).get(f"{mount}/")
            if current is None:
                self._call(
                    f"enable Kubernetes auth at {mount}/",
                    lambda: self._client.sys.enable_auth_method("kubernetes", path=mount),
                )
            elif current.get("type") != "kubernetes":
                raise TransientError(
                    f"Vault '{self.name}': auth/{mount} is not a Kubernetes auth method: set "
                    "the Vault's authMount in the operator's configuration to one"
                )
            last = self._configured_at.get(mount)
            if last is not None and time.monotonic() - last < auth.refresh_seconds:
                return False
            if auth.reviewer_jwt is None:
                # Vault reviews with its own token: configured right is configured enough.
                config = self._read_auth_config(mount)
                if config.get("kubernetes_host") == auth.host and (
                    auth.ca_pem is None or config.get("kubernetes_ca_cert") == auth.ca_pem
                ):
                    self._configured_at[mount] = time.monotonic()
                    return False
            arguments: dict[str, Any] = {"kubernetes_host": auth.host}
            if auth.ca_pem is not None:
                arguments["kubernetes_ca_cert"] = auth.ca_pem
            if auth.reviewer_jwt is not None:
                arguments["token_reviewer_jwt"] = auth.reviewer_jwt()
                # Vault runs outside the cluster here: never fall back to a local token.
                arguments["disable_local_ca_jwt"] = True
            self._call(
                f"configure auth/{mount}",
                lambda: self._client.auth.kubernetes.configure(mount_point=mount, **arguments),
            )
            self._configured_at[mount] = time.monotonic()
            return True

    def _read_auth_config(self, mount: str) -> dict[str, Any]:
        try:
            response = self._client.auth.kubernetes.read_config(mount_point=mount)
        except hvac.exceptions.InvalidPath:
            return {}
        except (hvac.exceptions.VaultError, requests.RequestException, OSError) as exc:
            raise self.failure(f"read auth/{mount}/config", exc) from exc
        # hvac returns the config itself here, not the whole response.
        data: dict[str, Any] = response.get("data") or response
        return data

    # --- policies and roles -----------------------------------------------

    def _ensure_policy(self, policy: VaultPolicy) -> bool:
        try:
            current = self._client.sys.read_acl_policy(policy.name)["data"]["policy"]
        except hvac.exceptions.InvalidPath:
            current = None
        except (hvac.exceptions.VaultError, requests.RequestException, OSError) as exc:
            raise self.failure(f"read policy {policy.name}", exc) from exc
        if current == policy.hcl:
            return False
        self._call(
            f"write policy {policy.name}",
            lambda: self._client.sys.create_or_update_acl_policy(
                policy.name, policy.hcl, pretty_print=False
            ),
        )
        return True

    def _ensure_role(self, mount: str, role: VaultRole) -> bool:
        try:
            current = self._client.auth.kubernetes.read_role(role.name, mount_point=mount)
        except hvac.exceptions.InvalidPath:
            current = None
        except (hvac.exceptions.VaultError, requests.RequestException, OSError) as exc:
            raise self.failure(f"read role {role.name}", exc) from exc
        wanted = role.api_body()
        # hvac returns the role's data itself (not the whole response) here.
        if current is not None and _role_matches(current.get("data") or current, wanted):
            return False
        self._call(
            f"write role {role.name}",
            lambda: self._client.auth.kubernetes.create_role(
                role.name,
                bound_service_account_names=wanted["bound_service_account_names"],
                bound_service_account_namespaces=wanted["bound_service_account_namespaces"],
                policies=wanted["token_policies"],
                ttl=wanted["token_ttl"],
                max_ttl=wanted["token_max_ttl"],
                mount_point=mount,
            ),
        )
        return True

    def _names(self, what: str, operation: Callable[[], Mapping[str, Any]]) -> list[str]:
        try:
            response = operation()
        except hvac.exceptions.InvalidPath:
            return []
        except (hvac.exceptions.VaultError, requests.RequestException, OSError) as exc:
            raise self.failure(f"list {what}", exc) from exc
        # Some hvac calls return the whole response, some only its data.
        data = response.get("data") or response
        return [str(name) for name in data.get("keys") or []]

    def _remove_names(self, names: VaultNames) -> list[str]:
        """Delete exactly the roles and policies in ``names`` that exist (none by prefix)."""
        removed: list[str] = []
        if names.roles:
            mount = names.auth_mount
            existing = set(
                self._names(
                    f"roles of auth/{mount}",
                    lambda: self._client.auth.kubernetes.list_roles(mount_point=mount),
                )
            )
            for name in names.roles:
                if name in existing:
                    self._call(
                        f"delete role {name}",
                        partial(self._client.auth.kubernetes.delete_role, name, mount_point=mount),
                    )
                    removed.append(f"role {name}")
        if names.policies:
            existing = set(self._names("policies", self._client.sys.list_acl_policies))
            for name in names.policies:
                if name in existing:
                    self._call(
                        f"delete policy {name}", partial(self._client.sys.delete_acl_policy, name)
                    )
                    removed.append(f"policy {name}")
        return removed

    # --- secrets ----------------------------------------------------------

    def _write_once(self, mount: str, path: str, data: Mapping[str, Any]) -> bool:
        """Write ``data`` unless a secret is at ``path`` already (KV v2 check-and-set 0)."""
        try:
            self._client.secrets.kv.v2.create_or_update_secret(
                path=path, secret=dict(data), cas=0, mount_point=mount
            )
        except hvac.exceptions.InvalidRequest as exc:
            if "check-and-set" in str(exc):
                return False
            raise self.failure(f"write {mount}/{path}", exc) from exc
        except (hvac.exceptions.VaultError, requests.RequestException, OSError) as exc:
            raise self.failure(f"write {mount}/{path}", exc) from exc
        return True

    def _ensure_service_clients(self, config: VaultConfig) -> bool:
        """Write auth's client list when it differs from what the clients' secrets give.

        Derived, so rewritten (a client enabled, disabled, or its secret rotated by an
        administrator): auth reads the new list when its pods restart.
        """
        mount = config.kv_mount
        secrets = {
            client.secret_key: data
            for client in config.service_clients
            if (data := self._read(mount, f"{config.store_path}/{client.secret_key}")) is not None
        }
        wanted = service_clients_entry(config.service_clients, secrets)
        path = f"{config.store_path}/{SERVICE_CLIENTS_KEY}"
        if self._read(mount, path) == wanted:
            return False
        try:
            self._client.secrets.kv.v2.create_or_update_secret(
                path=path, secret=wanted, mount_point=mount
            )
        except (hvac.exceptions.VaultError, requests.RequestException, OSError) as exc:
            raise self.failure(f"write {mount}/{path}", exc) from exc
        return True

    def _read(self, mount: str, path: str) -> dict[str, Any] | None:
        try:
            answer = self._client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=mount, raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath:
            return None
        except hvac.exceptions.Forbidden as exc:
            raise TransientError(
                f"Vault at {self.address} refused to read {mount}/{path} (403): give the "
                "operator's token a policy that allows it"
            ) from exc
        except (hvac.exceptions.VaultError, requests.RequestException, OSError) as exc:
            # Not the server's words: they could quote what was read.
            raise TransientError(
                f"Vault at {self.address}: cannot read {mount}/{path} ({type(exc).__name__})"
            ) from exc
        data = answer.get("data", {}).get("data")
        return dict(data) if isinstance(data, Mapping) else None

    async def read_first(
        self, mount: str, paths: Iterable[str]
    ) -> tuple[str, dict[str, Any]] | None:
        """The first of ``paths`` (below KV v2 ``mount``) that holds a secret, and its data."""

        def first() -> tuple[str, dict[str, Any]] | None:
            for path in paths:
                data = self._read(mount, path)
                if data is not None:
                    return path, data
            return None

        return await asyncio.to_thread(first)

    async def read_secrets(
        self, config: VaultConfig, keys: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        """The store's secrets at ``keys`` that exist (the ones ensure_store wrote)."""

        def read() -> dict[str, dict[str, Any]]:
            found = {}
            for key in keys:
                data = self._read(config.kv_mount, f"{config.store_path}/{key}")
                if data is not None:
                    found[key] = data
            return found

        return await asyncio.to_thread(read)

    # --- what the reconcile calls -----------------------------------------

    def _ensure_store(
        self,
        config: VaultConfig,
        stale: VaultNames,
        auth: KubernetesAuth,
        generate: Callable[[GeneratedSecret], Mapping[str, Any]],
    ) -> VaultChanges:
        self._ensure_kv_v2(config.kv_mount)
        configured = self._ensure_kubernetes_auth(config.auth_mount, auth)
        created = [
            secret.key
            for secret in config.secrets
            if secret.kind != "service-clients"
            and self._write_once(
                config.kv_mount, f"{config.store_path}/{secret.key}", generate(secret)
            )
        ]
        clients = self._ensure_service_clients(config)
        policies = [p.name for p in config.policies if self._ensure_policy(p)]
        roles = [r.name for r in config.roles if self._ensure_role(config.auth_mount, r)]
        # Names recorded before (services disabled since, an older naming scheme)
        # that this configuration no longer writes.
        removed = self._remove_names(stale.without(config.names()))
        return VaultChanges(created, policies, roles, removed, configured, clients)

    async def ensure_store(
        self,
        config: VaultConfig,
        stale: VaultNames,
        auth: KubernetesAuth,
        generate: Callable[[GeneratedSecret], Mapping[str, Any]],
    ) -> VaultChanges:
        """Make Vault hold ``config``: KV v2 mount, auth method, secrets, policies, roles.

        Secrets are written once and never overwritten; ``generate(kind)`` makes
        a new value only for a secret that does not exist yet. Of ``stale`` (the
        names recorded by earlier passes), those ``config`` does not write are
        deleted, by exact name.
        """
        return await asyncio.to_thread(self._ensure_store, config, stale, auth, generate)

    async def remove_names(self, names: VaultNames) -> list[str]:
        """Delete exactly the roles and policies ``names`` (those that exist)."""
        return await asyncio.to_thread(self._remove_names, names)

    def _remove_store(self, config: VaultConfig, names: VaultNames, secrets: bool) -> list[str]:
        removed = self._remove_names(names)
        if secrets:
            # The generated secrets and those the services keep themselves (auth's keys).
            for key in config.secret_keys():
                path = f"{config.store_path}/{key}"
                try:
                    # KV v2 deletes a missing path without complaint; look first so
                    # the event lists only what existed (auth may never have run).
                    self._client.secrets.kv.v2.read_secret_metadata(
                        path=path, mount_point=config.kv_mount
                    )
                    self._client.secrets.kv.v2.delete_metadata_and_all_versions(
                        path=path, mount_point=config.kv_mount
                    )
                except hvac.exceptions.InvalidPath:
                    continue
                except (hvac.exceptions.VaultError, requests.RequestException, OSError) as exc:
                    raise self.failure(f"delete {config.kv_mount}/{path}", exc) from exc
                removed.append(f"secret {path}")
        return removed

    async def remove_store(
        self, config: VaultConfig, names: VaultNames, *, secrets: bool
    ) -> list[str]:
        """Delete exactly the roles and policies ``names``, and the store's secrets if
        ``secrets``."""
        return await asyncio.to_thread(self._remove_store, config, names, secrets)


def _role_matches(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    def as_set(key: str) -> set[str]:
        return set(current.get(key) or [])

    return (
        as_set("bound_service_account_names") == set(wanted["bound_service_account_names"])
        and as_set("bound_service_account_namespaces")
        == set(wanted["bound_service_account_namespaces"])
        and as_set("token_policies") == set(wanted["token_policies"])
        and _seconds(current.get("token_ttl") or 0) == _seconds(wanted["token_ttl"])
        and _seconds(current.get("token_max_ttl") or 0) == _seconds(wanted["token_max_ttl"])
    )


class VaultPool:
    """One VaultAdmin per configured Vault and token, so auth-method state survives passes."""

    def __init__(self) -> None:
        self._admins: dict[tuple[str, str, bool | str, str | None], VaultAdmin] = {}

    def admin(
        self, name: str, address: str, token: str | None, *, verify: bool | str = True
    ) -> VaultAdmin:
        """The client of the configured Vault ``name`` (at ``address``), with ``token``."""
        key = (name, address, verify, token)
        if key not in self._admins:
            # A rotated token replaces the old one's client.
            for stale in [k for k in self._admins if k[0] == name]:
                del self._admins[stale]
            self._admins[key] = VaultAdmin(address, token, name=name, verify=verify)
        return self._admins[key]
