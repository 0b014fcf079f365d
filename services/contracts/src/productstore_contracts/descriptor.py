"""`ServiceDescriptor`: a service described once, read by everything that runs it.

devstack reads it for the local process (port, settings prefix, app factory,
gateway routes, what must run first), the operator for the call graph, Vault
policies and AuthorizationPolicies, and the chart's generated values for the
routes and callers. The service's own code reads it for its name, settings
prefix and topics. Adding a service means adding one descriptor (see
`productstore_contracts.services`), not editing tables in five places.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal

Dependency = Literal["cassandra", "redis", "kafka", "vault", "payments", "mail"]
"""A server the service connects to (devstack starts it first; the chart wires the shared
ones). `payments` is the payment provider, a third party (devstack's sandbox locally);
`mail` an SMTP server (devstack's Mailpit locally)."""

SecretKind = Literal["generated", "owned", "provided"]

_NAME: Final = re.compile(r"^[a-z][a-z0-9]{0,30}$")
_PREFIX: Final = re.compile(r"^/api/[a-z0-9/_-]*[a-z0-9/]$")
_TOPIC: Final = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
_FILE: Final = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_KV_KEY: Final = re.compile(r"^[a-z][a-z0-9-]*(/[a-z][a-z0-9-]*)*$")
_FIELD: Final = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Ports devstack gives services on 127.0.0.1 (8100-8199; the operator uses 8190/8191).
_PORTS: Final = range(8100, 8190)
# The Vault file of a service's auth client secret (`<NAME>_AUTH_CLIENT_SECRET`), and of
# auth's list of clients (`AUTH_SERVICE_CLIENTS`), both made by the operator.
AUTH_CLIENT_FILE: Final = "auth_client"
SERVICE_CLIENTS_FILE: Final = "service"


class DescriptorError(ValueError):
    """A descriptor contradicts itself or another one; the message says which and how."""


@dataclass(frozen=True)
class SecretFile:
    """A Vault KV entry (JSON) that the Vault agent renders to `/vault/secrets/<file>`.

    The settings field `<file>_<field>` reads it (productstore_common.settings),
    e.g. file `search_cursor` with field `key` is `CATALOG_SEARCH_CURSOR_KEY`.

    - `generated`: the operator makes it once per store (random URL-safe values,
      one per field) and never overwrites it; the service only reads it.
    - `owned`: the service writes and rotates it itself; the operator grants it
      read, create and update on exactly that path and renders no file.
    - `provided`: a third party's credential that an administrator writes
      (`bao kv put`); the operator never writes it, grants the service read on it
      (and list on its folder, so the agent renders an empty file while it is
      missing instead of waiting for it), renders the file and reports a missing
      entry or field in the store's status. The service treats an empty file as
      "this channel is not configured" (ADR 0039). Its key needs a folder.
    """

    file: str
    key: str
    fields: tuple[str, ...]
    kind: SecretKind = "generated"

    def __post_init__(self) -> None:
        if not _FILE.match(self.file):
            raise DescriptorError(f"secret file {self.file!r}: lower-case letters, digits, _")
        if not _KV_KEY.match(self.key):
            raise DescriptorError(f"secret key {self.key!r}: lower-case path segments, e.g. a/b-c")
        if not self.fields or any(not _FIELD.match(name) for name in self.fields):
            raise DescriptorError(f"secret {self.file!r} needs fields named like settings fields")
        if self.kind == "provided" and "/" not in self.key:
            # The agent lists the folder to render an empty file while it is missing.
            raise DescriptorError(
                f"provided secret {self.file!r}: key {self.key!r} needs a folder, e.g. "
                "notifications/provided/sms"
            )


@dataclass(frozen=True)
class ServiceDescriptor:
    """One service: who it is, where it answers, what it needs, calls and emits."""

    name: str
    summary: str
    # Public path prefixes the gateway sends to the service. Without a trailing slash a
    # prefix routes the path itself and everything below it (`/api/products`,
    # `/api/products/{id}`), with one only what is below it (`/api/auth/`).
    route_prefixes: tuple[str, ...]
    # devstack's port on 127.0.0.1 (in clusters every service listens on 8000).
    port: int
    dependencies: frozenset[Dependency] = frozenset()
    # Services it calls over HTTP (auth: the JWKS that verifies tokens, service tokens).
    calls: frozenset[str] = frozenset()
    # Services it asks auth for OAuth2 client-credentials tokens to (the tokens'
    # audiences, ADR 0027); each is also in `calls`. The service is then auth's client
    # `<name>`: its secret is `<NAME>_AUTH_CLIENT_SECRET` (Vault file `auth_client`,
    # made per store by the operator) and auth lists it in AUTH_SERVICE_CLIENTS.
    service_tokens: frozenset[str] = frozenset()
    # Kafka topics it produces to (through its outbox) and consumes from.
    produces: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()
    secrets: tuple[SecretFile, ...] = ()
    # The importable package; its `app.main:create_app` is the app factory.
    package: str = field(default="")

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise DescriptorError(
                f"service name {self.name!r}: a lower-case letter, then letters or digits "
                "(it is a DNS label, a keyspace part and an environment prefix)"
            )
        if not self.package:
            object.__setattr__(self, "package", f"productstore_{self.name}")
        if not self.route_prefixes:
            raise DescriptorError(f"{self.name}: a service needs at least one public route prefix")
        for prefix in self.route_prefixes:
            if not _PREFIX.match(prefix):
                raise DescriptorError(
                    f"{self.name}: route prefix {prefix!r} must start with /api/ and use "
                    "lower-case letters, digits, -, _ and /"
                )
        if self.port not in _PORTS:
            raise DescriptorError(
                f"{self.name}: port {self.port} is outside devstack's service range "
                f"{_PORTS.start}-{_PORTS.stop - 1}"
            )
        if self.name in self.calls:
            raise DescriptorError(f"{self.name} lists itself in calls")
        for topic in (*self.produces, *self.consumes):
            if not _TOPIC.match(topic):
                raise DescriptorError(f"{self.name}: {topic!r} is not a Kafka topic name")
        if (self.produces or self.consumes) and "kafka" not in self.dependencies:
            raise DescriptorError(f"{self.name} produces or consumes topics: add 'kafka'")
        if self.produces and "cassandra" not in self.dependencies:
            raise DescriptorError(f"{self.name} produces through its outbox: add 'cassandra'")
        files = [secret.file for secret in self.secrets]
        if len(set(files)) != len(files):
            raise DescriptorError(f"{self.name}: two secrets share a file name")
        self._check_service_tokens()

    def _check_service_tokens(self) -> None:
        if not self.service_tokens:
            return
        if "auth" not in self.calls:
            raise DescriptorError(f"{self.name} asks auth for service tokens: add 'auth' to calls")
        uncalled = sorted(self.service_tokens - self.calls)
        if uncalled:
            raise DescriptorError(
                f"{self.name}: service tokens for {', '.join(uncalled)}, which it does not call"
            )
        if any(secret.file == AUTH_CLIENT_FILE for secret in self.secrets):
            raise DescriptorError(
                f"{self.name}: secret file {AUTH_CLIENT_FILE!r} is its auth client's secret"
            )

    @property
    def env_prefix(self) -> str:
        """The settings prefix: `CATALOG_` for catalog (`CATALOG_REDIS_URL`, ...)."""
        return f"{self.name.upper()}_"

    @property
    def app_factory(self) -> str:
        """`module:factory` for `uvicorn --factory`."""
        return f"{self.package}.app.main:create_app"

    @property
    def verifies_tokens(self) -> bool:
        """Whether it verifies access tokens with auth's JWKS (it calls auth)."""
        return "auth" in self.calls


def check_registry(descriptors: tuple[ServiceDescriptor, ...]) -> None:
    """Refuse a set of descriptors that contradict each other."""
    names = [d.name for d in descriptors]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise DescriptorError(f"two descriptors are named {', '.join(duplicated)}")
    ports: dict[int, str] = {}
    prefixes: dict[str, str] = {}
    for descriptor in descriptors:
        if descriptor.port in ports:
            raise DescriptorError(
                f"{descriptor.name} and {ports[descriptor.port]} both use port {descriptor.port}"
            )
        ports[descriptor.port] = descriptor.name
        for prefix in descriptor.route_prefixes:
            bare = prefix.rstrip("/")
            for other, owner in prefixes.items():
                if bare == other or bare.startswith(other + "/") or other.startswith(bare + "/"):
                    raise DescriptorError(
                        f"route prefix {prefix} of {descriptor.name} overlaps {other} of {owner}"
                    )
            prefixes[bare] = descriptor.name
        unknown = sorted(descriptor.calls - set(names))
        if unknown:
            raise DescriptorError(
                f"{descriptor.name} calls {', '.join(unknown)}, which has no descriptor"
            )
