"""Where the store's Cassandra comes from, how keyspaces replicate, what deletion does."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from productstore_operator.models.base import (
    DnsLabel,
    DnsSubdomain,
    Quantity,
    ResourceModel,
    cel_rule,
    immutable,
)

# The largest replication factor the operator picks on its own: three copies
# survive one node down at LOCAL_QUORUM.
DEFAULT_REPLICATION_FACTOR = 3

CassandraDatacenterName = Annotated[
    str, StringConstraints(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
]
Host = Annotated[
    str, StringConstraints(max_length=253, pattern=r"^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$")
]


class K8ssandraDatacenter(ResourceModel):
    """The one Cassandra datacenter of the K8ssandraCluster."""

    name: DnsLabel = Field(
        default="dc1",
        description="Datacenter name; it also names the Cassandra Pods. Cannot change.",
        json_schema_extra=immutable("cassandra.k8ssandra.datacenter.name cannot change"),
    )
    size: int = Field(default=3, ge=1, le=100, description="Number of Cassandra nodes.")


class K8ssandraCassandra(ResourceModel):
    """A Cassandra cluster that the operator creates as a K8ssandraCluster
    (k8ssandra.io/v1alpha1); needs k8ssandra-operator in the cluster."""

    server_version: str = Field(
        default="5.0.9",
        max_length=16,
        pattern=r"^(4\.1|5\.0)\.[0-9]+$",
        description="Cassandra version, 4.1.x or 5.0.x.",
    )
    datacenter: K8ssandraDatacenter = Field(
        default_factory=K8ssandraDatacenter, description="The Cassandra datacenter."
    )
    storage_class_name: DnsSubdomain | None = Field(
        default=None,
        description="StorageClass of the data volumes. Unset: the cluster's default class.",
    )
    storage_size: Quantity = Field(
        default="10Gi", description="Size of each node's data volume, e.g. 10Gi."
    )


class ExternalCassandra(ResourceModel):
    """A Cassandra cluster that runs outside the operator's control."""

    contact_points: list[Host] = Field(
        min_length=1,
        max_length=16,
        description="Host names or IP addresses the driver first connects to.",
    )
    port: int = Field(default=9042, ge=1, le=65535, description="CQL native transport port.")
    local_datacenter: CassandraDatacenterName = Field(
        description="Datacenter the services read from and write to (LOCAL_QUORUM), "
        "as `nodetool status` names it, e.g. datacenter1."
    )


class Replication(ResourceModel):
    """Replication of the services' keyspaces."""

    class_: Literal["NetworkTopologyStrategy", "SimpleStrategy"] = Field(
        default="NetworkTopologyStrategy",
        alias="class",
        description="Replication strategy. SimpleStrategy suits single-datacenter test clusters.",
    )
    datacenters: dict[str, Annotated[int, Field(ge=1, le=10)]] = Field(
        default_factory=dict,
        max_length=16,
        description=(
            "Replication factor per datacenter (NetworkTopologyStrategy). Empty with mode "
            f"k8ssandra: the k8ssandra datacenter with min(size, {DEFAULT_REPLICATION_FACTOR})."
        ),
    )
    replication_factor: int | None = Field(
        default=None, ge=1, le=10, description="Replication factor (SimpleStrategy only)."
    )

    @cel_rule(
        "self.class != 'SimpleStrategy' || (has(self.replicationFactor) "
        "&& size(self.datacenters) == 0)",
        "SimpleStrategy takes replicationFactor, not datacenters",
    )
    def _simple_has_factor(self) -> bool:
        return self.class_ != "SimpleStrategy" or (
            self.replication_factor is not None and not self.datacenters
        )

    @cel_rule(
        "self.class == 'SimpleStrategy' || !has(self.replicationFactor)",
        "replicationFactor is only for SimpleStrategy; NetworkTopologyStrategy takes datacenters",
        field_path=".replicationFactor",
    )
    def _factor_only_for_simple(self) -> bool:
        return self.class_ == "SimpleStrategy" or self.replication_factor is None


class CassandraSpec(ResourceModel):
    """The store's Cassandra: created by the operator (k8ssandra) or external."""

    mode: Literal["k8ssandra", "external"] = Field(
        default="k8ssandra",
        description=(
            "k8ssandra: the operator creates a K8ssandraCluster from the k8ssandra field. "
            "external: the services use the cluster described by the external field. "
            "Cannot change."
        ),
        json_schema_extra=immutable(
            "cassandra.mode cannot change: the data would stay behind; "
            "create a new ProductStore instead"
        ),
    )
    k8ssandra: K8ssandraCassandra = Field(
        default_factory=K8ssandraCassandra,
        alias="k8ssandra",
        description="The K8ssandraCluster the operator creates; used when mode is k8ssandra.",
    )
    external: ExternalCassandra | None = Field(
        default=None, description="Required when mode is external, and only then."
    )
    replication: Replication = Field(
        default_factory=Replication, description="Keyspace replication."
    )
    deletion_policy: Literal["Retain", "Delete"] = Field(
        default="Retain",
        description=(
            "What deleting the ProductStore does to the data: Retain keeps the "
            "K8ssandraCluster and the keyspaces; Delete removes them."
        ),
    )

    @cel_rule(
        "self.mode != 'external' || has(self.external)",
        "cassandra.external is required when mode is external",
        field_path=".external",
    )
    def _external_given(self) -> bool:
        return self.mode != "external" or self.external is not None

    @cel_rule(
        "self.mode == 'external' || !has(self.external)",
        "cassandra.external is only allowed when mode is external",
        field_path=".external",
    )
    def _external_only_when_external(self) -> bool:
        return self.mode == "external" or self.external is None

    @cel_rule(
        "self.mode != 'external' || self.replication.class != 'NetworkTopologyStrategy' "
        "|| size(self.replication.datacenters) > 0",
        "cassandra.replication.datacenters must give a replication factor per datacenter "
        "when mode is external",
        field_path=".replication.datacenters",
    )
    def _external_datacenters_given(self) -> bool:
        return (
            self.mode != "external"
            or self.replication.class_ != "NetworkTopologyStrategy"
            or bool(self.replication.datacenters)
        )

    @cel_rule(
        "self.mode != 'k8ssandra' || self.replication.datacenters.all(dc, "
        "dc == self.k8ssandra.datacenter.name)",
        "cassandra.replication.datacenters may only name the k8ssandra datacenter",
        field_path=".replication.datacenters",
    )
    def _only_own_datacenter(self) -> bool:
        return self.mode != "k8ssandra" or all(
            dc == self.k8ssandra.datacenter.name for dc in self.replication.datacenters
        )

    @cel_rule(
        "self.mode != 'k8ssandra' || self.replication.datacenters.all(dc, "
        "self.replication.datacenters[dc] <= self.k8ssandra.datacenter.size) "
        "&& (!has(self.replication.replicationFactor) "
        "|| self.replication.replicationFactor <= self.k8ssandra.datacenter.size)",
        "a replication factor cannot exceed cassandra.k8ssandra.datacenter.size",
        field_path=".replication",
    )
    def _factor_fits_datacenter(self) -> bool:
        if self.mode != "k8ssandra":
            return True
        size = self.k8ssandra.datacenter.size
        factors = [*self.replication.datacenters.values(), self.replication.replication_factor]
        return all(factor is None or factor <= size for factor in factors)

    def replication_options(self) -> dict[str, str | int]:
        """The keyspaces' CQL replication map.

        For example ``{"class": "NetworkTopologyStrategy", "dc1": 3}``.
        """
        options: dict[str, str | int] = {"class": self.replication.class_}
        if self.replication.class_ == "SimpleStrategy":
            # The rules above guarantee replicationFactor for SimpleStrategy.
            options["replication_factor"] = self.replication.replication_factor or 1
        elif self.replication.datacenters:
            options.update(self.replication.datacenters)
        else:
            datacenter = self.k8ssandra.datacenter
            options[datacenter.name] = min(datacenter.size, DEFAULT_REPLICATION_FACTOR)
        return options
