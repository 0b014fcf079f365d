"""The ProductStore spec: what one store runs and what it connects to."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints

from productstore_operator.models.base import DnsSubdomain, HttpUrl, ResourceModel, cel_rule
from productstore_operator.models.cassandra import CassandraSpec
from productstore_operator.models.mesh import IstioSpec
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
    """The store's public entry point (Istio ingress gateway or nginx)."""

    host: GatewayHost | None = Field(
        default=None,
        description="Host name clients use, e.g. shop.example.com. Unset: any host.",
    )
    tls_secret_name: DnsSubdomain | None = Field(
        default=None,
        description="kubernetes.io/tls Secret with the certificate for host. Unset: plain HTTP.",
    )


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
    """The Vault agent injector (a mutating webhook of the Vault Helm chart)."""

    enabled: bool = Field(
        default=True,
        description="Annotate the services' Pods so the injector renders their secrets to "
        "files under /vault/secrets. Disable only where secrets arrive another way.",
    )


class VaultSpec(ResourceModel):
    """The Vault (or OpenBao) server that holds the store's secrets."""

    address: HttpUrl = Field(description="Vault API address, e.g. https://vault.vault.svc:8200.")
    auth_mount: VaultPath = Field(
        default="kubernetes", description="Mount path of the Kubernetes auth method."
    )
    kv_mount: VaultPath = Field(
        default="secret", description="Mount path of the KV version 2 secrets engine."
    )
    kv_path: VaultPath = Field(
        default="productstore",
        description="Path under kvMount where the store's secrets live, one folder per store.",
    )
    role_prefix: VaultName = Field(
        default="productstore",
        description="Prefix of the names of the Vault roles and policies the operator creates.",
    )
    injector: VaultInjector = Field(
        default_factory=VaultInjector, description="Vault agent injector."
    )


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
    vault: VaultSpec
    tracing: TracingSpec = Field(default_factory=TracingSpec)
