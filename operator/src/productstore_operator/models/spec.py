"""The ProductStore spec: what one store runs and what it connects to."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal, Self

from pydantic import Field, StringConstraints, WithJsonSchema, model_validator

from productstore_operator.models.base import (
    DnsSubdomain,
    HttpUrl,
    ResourceModel,
    cel_rule,
    immutable,
)
from productstore_operator.models.cassandra import CassandraSpec
from productstore_operator.models.mesh import IstioSpec
from productstore_operator.models.observability import ObservabilitySpec
from productstore_operator.models.services import ServicesSpec

Version = Annotated[
    str,
    StringConstraints(max_length=64, pattern=r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$"),
]
REGISTRY_PATTERN: Final = (
    r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$"
)
Registry = Annotated[str, StringConstraints(max_length=255, pattern=REGISTRY_PATTERN)]
# The project's registry: the images' default, and the operator's default allow-list.
DEFAULT_REGISTRY: Final = "ghcr.io/productstore"
BootstrapServer = Annotated[
    str,
    StringConstraints(max_length=260, pattern=r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$"),
]
RedisUrl = Annotated[str, StringConstraints(max_length=2048, pattern=r"^rediss?://\S+$")]
GatewayHost = Annotated[
    str,
    StringConstraints(
        max_length=253,
        pattern=r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    ),
]
# A configured Vault's name (the operator's vault.servers[].name).
VaultServerName = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
]
VaultName = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
]
VaultPath = Annotated[
    str,
    StringConstraints(max_length=256, pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$"),
]


class ImageSpec(ResourceModel):
    """Where the services' container images come from: <registry>/<service>:<version>."""

    registry: Registry = Field(
        default=DEFAULT_REGISTRY,
        description=(
            "Registry and path prefix of the images, without a trailing slash. "
            "It must be one of the operator's allowed registries (--allowed-registry)."
        ),
    )
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        default="IfNotPresent", description="imagePullPolicy of the services' containers."
    )
    pull_secrets: list[DnsSubdomain] = Field(
        default_factory=list,
        max_length=16,
        description="Names of Secrets in the store's namespace used to pull the images.",
    )


class GatewayRateLimit(ResourceModel):
    """Requests the gateway accepts from one client address (nginx limit_req)."""

    requests_per_second: int = Field(
        default=100, ge=1, le=1_000_000, description="Requests per second per client address."
    )
    burst: int = Field(
        default=200,
        ge=1,
        le=1_000_000,
        description="Requests above the rate accepted at once before 429s.",
    )


class GatewaySpec(ResourceModel):
    """The store's one address: its own gateway, and the Ingress host in front of it."""

    enabled: bool = Field(
        default=False,
        description="Run the store's own gateway: nginx Pods (the productstore-gateway "
        "image) routing every enabled service's paths, with request ids, rate and body "
        "limits and problem+json errors, behind one Service <store>-gateway. Off: the "
        "services are reached through the Ingress (host) or one by one.",
    )
    service_type: Literal["ClusterIP", "NodePort"] = Field(
        default="ClusterIP",
        description="How the gateway's Service is reached: ClusterIP (inside the cluster, "
        "or behind the Ingress) or NodePort (on every node's address at nodePort).",
    )
    node_port: int | None = Field(
        default=None,
        ge=30000,
        le=32767,
        description="Node port of the gateway's Service, 30000-32767; only with serviceType "
        "NodePort. Unset: Kubernetes picks a free one.",
    )
    replicas: int = Field(
        default=2, ge=1, le=50, description="Number of gateway Pods (a budget keeps one up)."
    )
    rate_limit: GatewayRateLimit = Field(default_factory=GatewayRateLimit)

    host: GatewayHost | None = Field(
        default=None,
        description="Host name clients use, e.g. shop.example.com. Unset: any host.",
    )
    tls_secret_name: DnsSubdomain | None = Field(
        default=None,
        description="kubernetes.io/tls Secret with the certificate for host. Unset: plain HTTP.",
    )

    @cel_rule(
        "!has(self.nodePort) || self.serviceType == 'NodePort'",
        "gateway.nodePort is set but gateway.serviceType is not NodePort: a node port "
        "needs serviceType NodePort",
        field_path=".nodePort",
    )
    def _node_port_needs_node_port_type(self) -> bool:
        return self.node_port is None or self.service_type == "NodePort"


# A label key: an optional DNS-subdomain prefix and a name (Kubernetes' qualified name).
# Checked by the operator, not the CRD: a structural schema cannot constrain map keys.
LABEL_KEY: Final = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
)
LabelKey = Annotated[str, StringConstraints(max_length=317, pattern=f"^{LABEL_KEY.pattern}$")]
LabelValue = Annotated[
    str, StringConstraints(max_length=63, pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
]


class Toleration(ResourceModel):
    """One toleration of the services' Pods (Kubernetes' form, checked here)."""

    key: LabelKey | None = Field(
        default=None, description="Taint key it tolerates; unset with operator Exists: every taint."
    )
    operator: Literal["Exists", "Equal"] = Field(
        default="Equal", description="Equal matches key and value; Exists matches the key alone."
    )
    value: LabelValue | None = Field(
        default=None, description="Taint value it tolerates (operator Equal only)."
    )
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None, description="Taint effect it tolerates; unset: every effect."
    )
    toleration_seconds: int | None = Field(
        default=None,
        ge=0,
        description="How long a Pod stays on a node tainted NoExecute (effect NoExecute only).",
    )

    @cel_rule(
        "self.operator != 'Exists' || !has(self.value)",
        "a toleration with operator Exists takes no value",
        field_path=".value",
    )
    def _exists_has_no_value(self) -> bool:
        return self.operator != "Exists" or self.value is None

    @cel_rule(
        "self.operator == 'Exists' || has(self.key)",
        "a toleration with operator Equal needs a key",
        field_path=".key",
    )
    def _equal_has_key(self) -> bool:
        return self.operator == "Exists" or self.key is not None

    @cel_rule(
        "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
        "tolerationSeconds is only for effect NoExecute",
        field_path=".tolerationSeconds",
    )
    def _seconds_only_no_execute(self) -> bool:
        return self.toleration_seconds is None or self.effect == "NoExecute"


class SchedulingSpec(ResourceModel):
    """Where the services' Pods may run: every service's Pods get these."""

    node_selector: dict[str, LabelValue] = Field(
        default_factory=dict,
        max_length=16,
        description="Node labels a node must have to run the services' Pods, e.g. "
        "{kubernetes.io/os: linux}.",
    )
    tolerations: list[Toleration] = Field(
        default_factory=list,
        max_length=16,
        description="Taints of nodes the services' Pods may run on anyway.",
    )

    @model_validator(mode="after")
    def _label_keys(self) -> Self:
        bad = sorted(
            key for key in self.node_selector if len(key) > 317 or not LABEL_KEY.fullmatch(key)
        )
        if bad:
            raise ValueError(
                f"scheduling.nodeSelector: {', '.join(map(repr, bad))} is not a label key "
                "(an optional DNS-subdomain prefix and /, then 1-63 letters, digits, -, _ or .)"
            )
        return self


AdminEmail = Annotated[
    str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
]


class AdminSpec(ResourceModel):
    """The store's first administrator, whom auth creates at its first start.

    The password is generated once per store into the store's Vault (KV key
    <kv path>/<namespace>/<store>/auth/first-admin, field password) and rendered into
    auth's Pods by the Vault agent; read it there, log in and change it.
    """

    email: AdminEmail = Field(
        default="admin@productstore.local",
        description="E-mail the first administrator logs in with. Changing it later "
        "creates another administrator; the first one stays.",
    )


# One mode: pydantic would write a single-value Literal as `const`, which a CRD's
# structural schema does not take; an enum of one says the same.
ExternalMode = Annotated[
    Literal["external"], WithJsonSchema({"type": "string", "enum": ["external"]})
]


class KafkaSpec(ResourceModel):
    """The Kafka that carries the store's events: one the user runs (docs/adr/0036)."""

    mode: ExternalMode = Field(
        default="external",
        description="external: the brokers in bootstrapServers, the only mode. There is "
        "no inCluster mode: run Kafka with its own operator (e.g. Strimzi) and name it here.",
    )
    bootstrap_servers: list[BootstrapServer] = Field(
        min_length=1,
        max_length=16,
        description="host:port of brokers to bootstrap from.",
    )


class RedisSpec(ResourceModel):
    """The Redis of caches and rate limits: one the user runs (docs/adr/0036)."""

    mode: ExternalMode = Field(
        default="external",
        description="external: the Redis at url, the only mode. There is no inCluster "
        "mode: run Redis with its own chart or operator and name it here.",
    )
    url: RedisUrl = Field(
        description="redis:// or rediss:// URL with the database number, e.g. "
        "redis://redis.example:6379/0. Passwords come from Vault.",
    )


class VaultInjector(ResourceModel):
    """The Vault agent in the services' Pods (a `bao agent` init container and sidecar
    that the chart adds; no injector webhook is needed)."""

    enabled: bool = Field(
        default=True,
        description="Give the services' Pods a Vault agent that renders their secrets to "
        "files under /vault/secrets. Disable only where secrets arrive another way.",
    )


_REMOVED_VAULT_FIELDS = ("address", "authMount", "kvMount", "kvPath", "rolePrefix")
_REMOVED_VAULT_MESSAGE = (
    "vault.address, authMount, kvMount, kvPath and rolePrefix are the operator's "
    "configuration now (its chart's vault.servers), never a store's: remove them and "
    "name one of the operator's Vaults with vault.name (default: default)"
)


def _removed(what: str) -> Any:
    # Kept in the schema, so the apiserver neither prunes a stored store's value
    # (the operator must see it to refuse it) nor refuses the stores that an older
    # operator still reconciles: the operator refuses it, with what to do.
    return Field(
        default=None,
        max_length=2048,
        description=f"Removed: {what} is the operator's configuration (its chart's "
        "vault.servers). Setting it is refused.",
    )


class VaultSpec(ResourceModel):
    """Which of the operator's Vaults (or OpenBaos) holds the store's secrets.

    The operator's own configuration says where each Vault is, how it logs in and
    where the stores' roles and secrets go; a store only picks one by name, so it
    can never send the operator's token to a server of its choosing.
    """

    name: VaultServerName = Field(
        default="default",
        description="Name of a Vault the operator is configured with (its chart's "
        "vault.servers); an unknown name is refused with the names it knows. Immutable: "
        "the store's secrets live in that Vault.",
        json_schema_extra=immutable(
            "vault.name is immutable: the store's secrets live in that Vault; "
            "create a new ProductStore to use another"
        ),
    )
    injector: VaultInjector = Field(
        default_factory=VaultInjector, description="The Vault agent in the services' Pods."
    )
    address: str | None = _removed("the Vault's address")
    auth_mount: str | None = _removed("the Kubernetes auth mount")
    kv_mount: str | None = _removed("the KV mount")
    kv_path: str | None = _removed("the KV folder of the stores")
    role_prefix: str | None = _removed("the prefix of role and policy names")

    @model_validator(mode="after")
    def _no_removed_fields(self) -> Self:
        given = [
            field
            for field, value in zip(
                _REMOVED_VAULT_FIELDS,
                (self.address, self.auth_mount, self.kv_mount, self.kv_path, self.role_prefix),
                strict=True,
            )
            if value is not None
        ]
        if given:
            raise ValueError(f"{_REMOVED_VAULT_MESSAGE} (given: {', '.join(given)})")
        return self


class TracingSpec(ResourceModel):
    """OpenTelemetry tracing of the services."""

    endpoint: HttpUrl | None = Field(
        default=None,
        description="OTLP/HTTP endpoint, e.g. http://otel-collector:4318. Unset: no tracing.",
    )
    sample_ratio: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Share of traces recorded, from 0 (none) to 1 (all).",
    )


class ProductStoreSpec(ResourceModel):
    """Desired state of a Product Store."""

    version: Version = Field(
        description="Product Store release the services run, e.g. 1.4.0; also their image tag."
    )
    # Object-typed fields take their description from the model's docstring.
    image: ImageSpec = Field(default_factory=ImageSpec)
    services: ServicesSpec = Field(default_factory=ServicesSpec)
    gateway: GatewaySpec = Field(default_factory=GatewaySpec)
    scheduling: SchedulingSpec = Field(default_factory=SchedulingSpec)
    admin: AdminSpec = Field(default_factory=AdminSpec)
    cassandra: CassandraSpec = Field(default_factory=CassandraSpec)
    # No defaults: the only mode that works (external) needs the user's addresses.
    kafka: KafkaSpec
    redis: RedisSpec
    istio: IstioSpec = Field(default_factory=IstioSpec)
    vault: VaultSpec = Field(
        default_factory=VaultSpec,
        description="Which of the operator's Vaults (or OpenBaos) holds the store's secrets. "
        "Where a Vault is and how the operator logs in to it are the operator's "
        "configuration, never the store's: a store only names one.",
    )
    tracing: TracingSpec = Field(default_factory=TracingSpec)
    observability: ObservabilitySpec = Field(default_factory=ObservabilitySpec)
