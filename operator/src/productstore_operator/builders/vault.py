"""The store's Vault configuration as data: paths, secrets, policies, roles.

The I/O layer writes what this describes (with hvac) and generates secret
values; nothing here talks to Vault or makes a random number.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from productstore_contracts.descriptor import AUTH_CLIENT_FILE, SERVICE_CLIENTS_FILE
from productstore_contracts.services import AUTH, DESCRIPTORS
from productstore_operator.builders.errors import InvalidSpecError
from productstore_operator.builders.naming import (
    StoreRef,
    service_account_name,
    vault_role_name,
    vault_store_path,
)
from productstore_operator.builders.settings import OperatorSettings, VaultTarget
from productstore_operator.models import SERVICE_NAMES, ProductStoreSpec

# "random": one random URL-safe value per field (a service's generated SecretFile).
# "service-clients": auth's list of service clients, which the operator writes from
# the clients' secrets on every pass (ServiceClient), never generated.
SecretKind = Literal["cassandra-credentials", "random", "service-clients"]

# auth's AUTH_SERVICE_CLIENTS: {"clients": "<JSON of every enabled client>"}.
SERVICE_CLIENTS_KEY: Final = f"{AUTH.name}/service-clients"


@dataclass(frozen=True)
class GeneratedSecret:
    """A secret the operator generates once and never overwrites."""

    # KV key below the store's folder, e.g. "cassandra".
    key: str
    kind: SecretKind
    # File under /vault/secrets the agent renders it to.
    file: str
    readers: tuple[str, ...]
    # The entry's fields, for kind "random".
    fields: tuple[str, ...] = ()
    # Whose Cassandra role it is, for kind "cassandra-credentials".
    service: str | None = None


@dataclass(frozen=True)
class OwnedSecret:
    """A secret one service creates and rotates itself (KV v2 check-and-set).

    The operator writes nothing there; it grants the owner read, create and
    update on exactly that path, and deletes it with the store's secrets.
    """

    # KV key below the store's folder.
    key: str
    owner: str


@dataclass(frozen=True)
class ProvidedSecret:
    """A third party's credential that an administrator writes (`bao kv put`).

    The operator never writes it: it grants its reader read on the entry and list on
    its folder (the agent's template renders an empty file while the entry is
    missing, rather than holding the pod's start), and reports a missing entry or
    field in the store's status with the command that writes it (ADR 0039).
    """

    # KV key below the store's folder, e.g. "notifications/provided/sms".
    key: str
    # File under /vault/secrets the agent renders it to.
    file: str
    reader: str
    fields: tuple[str, ...]

    @property
    def folder(self) -> str:
        """The key's folder, which the reader may list (names only, no values)."""
        return self.key.rpartition("/")[0]


@dataclass(frozen=True)
class MissingProvided:
    """A provided secret that is absent, or lacks fields, and how to write it."""

    secret: ProvidedSecret
    # The fields to write: every field when the entry is absent.
    fields: tuple[str, ...]
    absent: bool

    def command(self, kv_mount: str, store_path: str) -> str:
        """The `bao kv put` (absent) or `bao kv patch` (fields missing) to run."""
        verb = "put" if self.absent else "patch"
        values = " ".join(f"{name}=..." for name in self.fields)
        return f"bao kv {verb} -mount={kv_mount} {store_path}/{self.secret.key} {values}"


# The Vault agent renders each KV entry as JSON; the services' settings read field
# <file>_<entry key> from it (productstore_common.settings), so a file's name plus
# its entry's keys spell the settings field.
SECRETS: Final = (
    # Every service logs in to Cassandra as a role of its own, granted on its own
    # keyspace only: one entry per service, each rendered to /vault/secrets/cassandra
    # of that service alone (a shared login let the catalog read auth's tables).
    *(
        GeneratedSecret(
            key=f"{service}/cassandra",
            kind="cassandra-credentials",
            file="cassandra",
            readers=(service,),
            service=service,
        )
        for service in SERVICE_NAMES
    ),
    # What the services' descriptors ask for (catalog's search-cursor key: every
    # replica must sign cursors with the same key, so it is made once per store).
    *(
        GeneratedSecret(
            key=secret.key,
            kind="random",
            file=secret.file,
            readers=(service.name,),
            fields=secret.fields,
        )
        for service in DESCRIPTORS
        for secret in service.secrets
        if secret.kind == "generated"
    ),
    # A service that asks auth for service tokens (ADR 0027) is auth's client: its
    # secret is made once per store; auth reads the list the operator derives.
    *(
        GeneratedSecret(
            key=f"{service.name}/auth-client",
            kind="random",
            file=AUTH_CLIENT_FILE,
            readers=(service.name,),
            fields=("secret",),
        )
        for service in DESCRIPTORS
        if service.service_tokens
    ),
    GeneratedSecret(
        key=SERVICE_CLIENTS_KEY,
        kind="service-clients",
        file=SERVICE_CLIENTS_FILE,
        readers=(AUTH.name,),
        fields=("clients",),
    ),
)
# Secrets a service writes and rotates itself (auth's ES256 signing-key set, keeping
# the previous public keys): nobody else may write them. The chart derives
# AUTH_VAULT_KEYS_PATH from the same key ("productstore.configData" in
# charts/productstore/templates/_helpers.tpl).
OWNED_SECRETS: Final = tuple(
    OwnedSecret(key=secret.key, owner=service.name)
    for service in DESCRIPTORS
    for secret in service.secrets
    if secret.kind == "owned"
)
# Third parties' credentials an administrator provides (the SMS APIs, the admins'
# chats): read by their service, never written by the operator.
PROVIDED_SECRETS: Final = tuple(
    ProvidedSecret(key=secret.key, file=secret.file, reader=service.name, fields=secret.fields)
    for service in DESCRIPTORS
    for secret in service.secrets
    if secret.kind == "provided"
)


def secret_files(service: str) -> dict[str, str]:
    """/vault/secrets file -> KV key for one service; "" for secrets it may not read.

    Every file is named so the map replaces, not merges into, the chart's default.
    """
    if service not in SERVICE_NAMES:
        raise KeyError(f"unknown service {service!r}; services are {', '.join(SERVICE_NAMES)}")
    files: dict[str, str] = {}
    for secret in SECRETS:
        # Several entries share a file name (each service's "cassandra"): its own wins.
        if service in secret.readers:
            files[secret.file] = secret.key
        else:
            files.setdefault(secret.file, "")
    return files


def provided_files(service: str) -> dict[str, str]:
    """/vault/secrets file -> KV key of the secrets an administrator provides the service.

    The chart renders these with a template that lists the key's folder first, so a
    missing entry is an empty file, not an agent that waits for it.
    """
    if service not in SERVICE_NAMES:
        raise KeyError(f"unknown service {service!r}; services are {', '.join(SERVICE_NAMES)}")
    return {s.file: s.key for s in PROVIDED_SECRETS if s.reader == service}


def missing_provided(
    secrets: tuple[ProvidedSecret, ...], entries: Mapping[str, Mapping[str, Any]]
) -> list[MissingProvided]:
    """Which of ``secrets`` are absent from ``entries`` (KV key -> data) or lack a field.

    A field that is not a non-empty string counts as missing: the service would
    take it for "not configured" too.
    """
    missing = []
    for secret in secrets:
        entry = entries.get(secret.key)
        if entry is None:
            missing.append(MissingProvided(secret, secret.fields, absent=True))
            continue
        lacking = tuple(
            name
            for name in secret.fields
            if not isinstance(entry.get(name), str) or not str(entry.get(name)).strip()
        )
        if lacking:
            missing.append(MissingProvided(secret, lacking, absent=False))
    return missing


# The pod-template annotation that carries a digest of the provided credentials a
# service's pods read at start: a changed entry changes it, and the release rolls them.
PROVIDED_ANNOTATION: Final = "productstore.io/provided-credentials"


def provided_digests(
    secrets: tuple[ProvidedSecret, ...], entries: Mapping[str, Mapping[str, Any]], salt: str
) -> dict[str, str]:
    """Per reader, a digest of the provided entries that exist (none: not listed).

    Salted with the store's uid and cut to 16 hex digits: it tells that something
    changed, nothing of what.
    """
    by_reader: dict[str, dict[str, Mapping[str, Any]]] = {}
    for secret in secrets:
        if secret.key in entries:
            by_reader.setdefault(secret.reader, {})[secret.key] = entries[secret.key]
    return {
        reader: hashlib.sha256(
            (salt + json.dumps(found, sort_keys=True, separators=(",", ":"))).encode()
        ).hexdigest()[:16]
        for reader, found in by_reader.items()
    }


def cassandra_secret(service: str) -> GeneratedSecret:
    """The entry holding ``service``'s Cassandra role name and password."""
    for secret in SECRETS:
        if secret.kind == "cassandra-credentials" and secret.service == service:
            return secret
    raise KeyError(f"no Cassandra credentials for service {service!r}")


# KV key of an external Cassandra's administrator credential ({"username",
# "password"}: a superuser, or a role that may create roles and keyspaces and
# grant on them), which the operator uses to make the services' roles. The
# store's own folder is looked at first, then the folder of every store (kvPath).
# An administrator writes it; the operator never does, and no service may read it.
CASSANDRA_ADMIN_KEY: Final = "cassandra-admin"


@dataclass(frozen=True)
class ServiceClient:
    """One of auth's service clients: an enabled service that asks for service tokens."""

    client_id: str
    # KV key of its generated secret ({"secret"}).
    secret_key: str
    audiences: tuple[str, ...]


def service_clients_entry(
    clients: tuple[ServiceClient, ...], secrets: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """auth's service-clients entry from the clients' secrets (KV key -> data).

    A client whose secret is missing or has no `secret` field is left out (auth then
    refuses its tokens, and the notifications log says why): the list never names a
    client with an empty secret.
    """
    listed = {
        client.client_id: {"secret": secret, "audiences": list(client.audiences)}
        for client in clients
        if isinstance(secret := secrets.get(client.secret_key, {}).get("secret"), str) and secret
    }
    return {"clients": json.dumps(listed, sort_keys=True, separators=(",", ":"))}


@dataclass(frozen=True)
class VaultPolicy:
    name: str
    hcl: str


@dataclass(frozen=True)
class VaultRole:
    """A Kubernetes-auth role: which ServiceAccount logs in and what it gets."""

    name: str
    service_account: str
    namespace: str
    policies: tuple[str, ...]
    token_ttl: str
    token_max_ttl: str

    def api_body(self) -> dict[str, Any]:
        """The body of ``POST auth/<mount>/role/<name>``."""
        return {
            "bound_service_account_names": [self.service_account],
            "bound_service_account_namespaces": [self.namespace],
            "token_policies": list(self.policies),
            "token_ttl": self.token_ttl,
            "token_max_ttl": self.token_max_ttl,
        }


@dataclass(frozen=True)
class VaultNames:
    """Exact roles (in one auth mount) and policies: what the operator wrote or deletes.

    The operator records these in the store's status and deletes only names it
    recorded or is about to write, never every name with some prefix.
    """

    auth_mount: str
    roles: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()

    def without(self, keep: VaultNames) -> VaultNames:
        """These names less ``keep``'s (a role in another mount is not kept)."""
        same_mount = keep.auth_mount == self.auth_mount
        roles = tuple(r for r in self.roles if not (same_mount and r in keep.roles))
        policies = tuple(p for p in self.policies if p not in keep.policies)
        return VaultNames(self.auth_mount, roles, policies)

    def union(self, other: VaultNames) -> VaultNames:
        """Both sets of names; ``other``'s roles only when in the same mount."""
        if other.auth_mount != self.auth_mount:
            return VaultNames(self.auth_mount, self.roles, _merged(self.policies, other.policies))
        return VaultNames(
            self.auth_mount,
            _merged(self.roles, other.roles),
            _merged(self.policies, other.policies),
        )


def _merged(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *second)))


@dataclass(frozen=True)
class VaultConfig:
    """Everything the operator ensures in Vault for one store."""

    # The configured Vault (spec.vault.name) all of it lives in.
    vault_name: str
    auth_mount: str
    kv_mount: str
    # Folder of the store's secrets below kv_mount.
    store_path: str
    secrets: tuple[GeneratedSecret, ...]
    owned: tuple[OwnedSecret, ...]
    policies: tuple[VaultPolicy, ...]
    roles: tuple[VaultRole, ...]
    # The enabled services' secrets an administrator provides (never written here).
    provided: tuple[ProvidedSecret, ...] = ()
    # Where an external Cassandra's administrator credential is looked for, in
    # order, as paths below kv_mount: the store's folder, then kvPath's.
    cassandra_admin: tuple[str, ...] = ()
    # auth's service clients among the enabled services (SERVICE_CLIENTS_KEY).
    service_clients: tuple[ServiceClient, ...] = ()

    def data_path(self, key: str) -> str:
        """API path of a secret's data (KV v2 puts "data/" after the mount)."""
        return f"{self.kv_mount}/data/{self.store_path}/{key}"

    def metadata_path(self, folder: str) -> str:
        """API path that lists a folder's keys (KV v2 puts "metadata/" after the mount)."""
        return f"{self.kv_mount}/metadata/{self.store_path}/{folder}/"

    def secret_path(self) -> str:
        """The chart's vault.secretPath: the data path the secrets' keys are below."""
        return f"{self.kv_mount}/data/{self.store_path}"

    def names(self) -> VaultNames:
        """The exact roles and policies this configuration writes."""
        return VaultNames(
            self.auth_mount,
            tuple(role.name for role in self.roles),
            tuple(policy.name for policy in self.policies),
        )

    def secret_keys(self) -> list[str]:
        """Every KV key below the store's folder: what deleting the store's secrets removes
        (an administrator's provided credentials too: they were this store's)."""
        return (
            [s.key for s in self.secrets]
            + [s.key for s in self.owned]
            + [s.key for s in PROVIDED_SECRETS]
        )


def _policy_hcl(readable: list[str], writable: list[str], listable: Sequence[str] = ()) -> str:
    # Only the exact paths: no wildcard reaches a sibling's or another store's secret.
    # KV v2 check-and-set writes need create (cas=0, first key) and update (rotation);
    # the owner reads the set back with read. No delete, no metadata. List only on the
    # folders of provided secrets (key names, no values): the agent looks there first.
    rules = [(path, '"read"') for path in readable]
    rules += [(path, '"create", "read", "update"') for path in writable]
    rules += [(path, '"list"') for path in listable]
    return "".join(f'path "{path}" {{\n  capabilities = [{caps}]\n}}\n' for path, caps in rules)


def vault_target(spec: ProductStoreSpec, settings: OperatorSettings) -> VaultTarget:
    """The configured Vault the spec names; InvalidSpecError, naming the known ones, if none."""
    servers = settings.vault.servers
    target = servers.get(spec.vault.name)
    if target is None:
        known = ", ".join(f"'{name}'" for name in sorted(servers))
        offer = (
            f"the Vaults it knows are {known}"
            if servers
            else "it has none (its chart's vault.servers is empty)"
        )
        raise InvalidSpecError(
            f"spec.vault.name '{spec.vault.name}' is not a Vault the operator is configured "
            f"with: {offer}"
        )
    return target


def build_vault_config(
    spec: ProductStoreSpec, store: StoreRef, settings: OperatorSettings
) -> VaultConfig:
    """Policies and roles of the enabled services, and the store's secrets."""
    vault = vault_target(spec, settings)
    enabled = spec.services.enabled()
    config = VaultConfig(
        vault_name=vault.name,
        auth_mount=vault.auth_mount,
        kv_mount=vault.kv_mount,
        store_path=vault_store_path(vault.kv_path, store),
        secrets=SECRETS,
        owned=OWNED_SECRETS,
        policies=(),
        roles=(),
    )
    policies: list[VaultPolicy] = []
    roles: list[VaultRole] = []
    for service in enabled:
        name = vault_role_name(vault.role_prefix, store, service)
        readable = [config.data_path(s.key) for s in SECRETS if service in s.readers]
        writable = [config.data_path(s.key) for s in OWNED_SECRETS if s.owner == service]
        provided = [s for s in PROVIDED_SECRETS if s.reader == service]
        readable += [config.data_path(s.key) for s in provided]
        listable = list(dict.fromkeys(config.metadata_path(s.folder) for s in provided))
        policies.append(VaultPolicy(name=name, hcl=_policy_hcl(readable, writable, listable)))
        roles.append(
            VaultRole(
                name=name,
                service_account=service_account_name(store, service),
                namespace=store.namespace,
                policies=(name,),
                token_ttl=settings.vault.token_ttl,
                token_max_ttl=settings.vault.token_max_ttl,
            )
        )
    return replace(
        config,
        policies=tuple(policies),
        roles=tuple(roles),
        provided=tuple(s for s in PROVIDED_SECRETS if s.reader in enabled),
        cassandra_admin=(
            f"{config.store_path}/{CASSANDRA_ADMIN_KEY}",
            f"{vault.kv_path}/{CASSANDRA_ADMIN_KEY}",
        ),
        service_clients=tuple(
            ServiceClient(
                client_id=service.name,
                secret_key=f"{service.name}/auth-client",
                audiences=tuple(sorted(service.service_tokens)),
            )
            for service in DESCRIPTORS
            if service.service_tokens and service.name in enabled
        ),
    )
