"""The ProductStore status: what the operator observed, as users read it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, Field, PlainSerializer, StringConstraints

from productstore_operator.models.base import ResourceModel

# Condition types the operator sets; Ready summarises the others.
READY: Final = "Ready"
SECRETS_READY: Final = "SecretsReady"
CASSANDRA_READY: Final = "CassandraReady"
SERVICES_READY: Final = "ServicesReady"
MESH_CONFIGURED: Final = "MeshConfigured"
CONDITION_TYPES: Final = (READY, SECRETS_READY, CASSANDRA_READY, SERVICES_READY, MESH_CONFIGURED)

Phase = Literal["Pending", "Reconciling", "Ready", "Degraded", "Failed", "Deleting"]


def _rfc3339(moment: datetime) -> str:
    # metav1.Time: UTC, whole seconds.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[AwareDatetime, PlainSerializer(_rfc3339, return_type=str)]


class Condition(ResourceModel):
    """One aspect of the store's state (the metav1.Condition shape)."""

    type: str = Field(
        max_length=316,
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
        r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        description=f"Condition type: {', '.join(CONDITION_TYPES)}.",
    )
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(
        min_length=1,
        max_length=1024,
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        description="CamelCase reason for the last transition, for programs.",
    )
    message: str = Field(
        max_length=32768, description="What happened and, when not True, what to change."
    )
    last_transition_time: Timestamp = Field(description="When status last changed (RFC 3339, UTC).")
    observed_generation: int | None = Field(
        default=None, ge=0, description="metadata.generation the condition was computed from."
    )


class ServiceStatus(ResourceModel):
    """Replica counts of one service."""

    desired_replicas: int = Field(ge=0, description="Replicas the Deployment asks for.")
    ready_replicas: int = Field(ge=0, description="Replicas that pass their readiness probe.")


Version = Annotated[str, StringConstraints(max_length=64)]
VaultObjectName = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class VaultStatus(ResourceModel):
    """The Vault roles and policies the operator wrote for the store, by exact name."""

    name: str = Field(max_length=63, description="The configured Vault they live in.")
    auth_mount: str = Field(max_length=256, description="Kubernetes auth mount of the roles.")
    roles: list[VaultObjectName] = Field(
        default_factory=list, max_length=64, description="Kubernetes-auth roles, exact names."
    )
    policies: list[VaultObjectName] = Field(
        default_factory=list, max_length=64, description="ACL policies, exact names."
    )


class ProductStoreStatus(ResourceModel):
    """Observed state of a Product Store, written by the operator."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="metadata.generation the operator last reconciled."
    )
    phase: Phase | None = Field(
        default=None,
        description="Summary for humans: Pending (not started), Reconciling (converging), "
        "Ready, Degraded (running with failures), Failed (needs a spec change), Deleting.",
    )
    version: Version | None = Field(
        default=None, description="Product Store release the services run now."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=32,
        description="Current conditions, one per type.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    services: dict[str, ServiceStatus] = Field(
        default_factory=dict,
        max_length=32,
        description="Replica counts per service, keyed by service name.",
    )
    vault: VaultStatus | None = Field(
        default=None,
        description="The Vault roles and policies the operator wrote: the exact names it "
        "deletes when services are disabled and when the store is deleted.",
    )

    def condition(self, condition_type: str) -> Condition | None:
        """The condition of type ``condition_type``, if set."""
        return next((c for c in self.conditions if c.type == condition_type), None)
