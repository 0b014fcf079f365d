"""The ProductStore spec: what one store runs and what it connects to."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, Self

from pydantic import Field, StringConstraints, model_validator

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


class KafkaSpec(ResourceModel):
    """The Kafka cluster that carries the store's events (the operator creates none yet)."""

    mode: Literal["inCluster", "external"] = Field(
        default="external",
        description="external: the brokers in bootstrapServers. inCluster (a Kafka in the "
        "store's namespace) is not built yet: the operator would create nothing, so it is "
        "refused.",
    )
    bootstrap_servers: list[BootstrapServer] = Field(
        default_factory=list,
        max_length=16,
        description="host:port of brokers to bootstrap from (mode external only).",
    )

    @cel_rule(
        "self.mode != 'inCluster'",
        "kafka.mode inCluster is not built yet (the operator creates no Kafka): "
        "use mode external with bootstrapServers",
        field_path=".mode",
    )
    def _in_cluster_not_built(self) -> bool:
        return self.mode != "inCluster"

    @cel_rule(
        "(self.mode == 'external') == (size(self.bootstrapServers) > 0)",
        "kafka.bootstrapServers is required when mode is external, and only then",
        field_path=".bootstrapServers",
    )
    def _servers_iff_external(self) -> bool:
        return (self.mode == "external") == bool(self.bootstrap_servers)


class RedisSpec(ResourceModel):
    """The Redis used for caches and rate limits (the operator creates none yet)."""

    mode: Literal["inCluster", "external"] = Field(
        default="external",
        description="external: the Redis at url. inCluster (a Redis in the store's "
        "namespace) is not built yet: the operator would create nothing, so it is refused.",
    )
    url: RedisUrl | None = Field(
        default=None,
        description="redis:// or rediss:// URL with the database number, e.g. "
        "redis://redis.example:6379/0 (mode external only). Passwords come from Vault.",
    )

    @cel_rule(
        "self.mode != 'inCluster'",
        "redis.mode inCluster is not built yet (the operator creates no Redis): "
        "use mode external with url",
        field_path=".mode",
    )
    def _in_cluster_not_built(self) -> bool:
        return self.mode != "inCluster"

    @cel_rule(
        "(self.mode == 'external') == has(self.url)",
        "redis.url is required when mode is external, and only then",
        field_path=".url",
    )
    def _url_iff_external(self) -> bool:
        return (self.mode == "external") == (self.url is not None)


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
