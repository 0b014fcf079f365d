"""Per-service settings: enabled, replicas, resources, autoscaling, rollout."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from pydantic import Field, create_model

from productstore_contracts.services import DESCRIPTORS
from productstore_operator.models.base import Quantity, Replicas, ResourceModel, cel_rule

# The roadmap's services and what each does, in the order they are listed
# everywhere (spec, status, charts). The spec has a field for each, so the CRD
# documents them before they exist.
PLANNED_SERVICES: Final = {
    "auth": "users, roles, refresh tokens and signing keys",
    "catalog": "products, categories, prices and search",
    "orders": "carts, orders and the order state machine",
    "inventory": "stock, reservations and reorder suggestions",
    "wishlist": "wishlists, share links and price-drop alerts",
    "reviews": "reviews, ratings and moderation",
    "notifications": "email, SMS, push and chat notifications",
    "analytics": "sales and behaviour aggregates and reports",
    "recommendations": "product recommendations",
}

# The services whose code exists: those with a descriptor
# (productstore_contracts.services, the one table of services). Only these may
# be enabled and only these are on by default: an unbuilt service has no image.
# A descriptor for a name the roadmap does not plan adds that service after
# the planned ones: the spec, the chart and the call graph follow from it.
_DESCRIBED: Final = {descriptor.name: descriptor for descriptor in DESCRIPTORS}
SERVICE_NAMES: Final = (
    *PLANNED_SERVICES,
    *(name for name in _DESCRIBED if name not in PLANNED_SERVICES),
)
IMPLEMENTED_SERVICES: Final = tuple(name for name in SERVICE_NAMES if name in _DESCRIBED)
UNBUILT_SERVICES: Final = tuple(name for name in SERVICE_NAMES if name not in IMPLEMENTED_SERVICES)


def service_summary(name: str) -> str:
    """What the service does: its descriptor's summary, else the roadmap's words."""
    described = _DESCRIBED.get(name)
    return described.summary if described is not None else PLANNED_SERVICES[name]


class ResourceRequests(ResourceModel):
    """Resources the scheduler reserves for each Pod of the service."""

    cpu: Quantity = Field(default="100m", description="CPU request, e.g. 100m or 1.")
    # Measured on devstack: auth and catalog sit at ~130 MiB resident when idle
    # (112 MiB once their modules are imported). 128Mi would be under that (nodes
    # overcommitted); 512Mi leaves catalog room for its search index (~0.55 KB
    # per product, services/catalog/SEARCH.md) and request bursts.
    memory: Quantity = Field(default="192Mi", description="Memory request, e.g. 192Mi or 1Gi.")


class ResourceLimits(ResourceModel):
    """Upper bounds the kubelet enforces on each Pod of the service."""

    # No CPU limit by default: throttling hurts latency more than a noisy neighbour.
    cpu: Quantity | None = Field(
        default=None, description="CPU limit, e.g. 1 or 500m. Unset: no CPU limit."
    )
    memory: Quantity = Field(
        default="512Mi", description="Memory limit, e.g. 512Mi; the container is killed above it."
    )


class Resources(ResourceModel):
    """Compute resources of each Pod of the service (Kubernetes quantities)."""

    requests: ResourceRequests = Field(default_factory=ResourceRequests)
    limits: ResourceLimits = Field(default_factory=ResourceLimits)


class Autoscaling(ResourceModel):
    """Horizontal Pod autoscaling on CPU (autoscaling/v2 HorizontalPodAutoscaler)."""

    enabled: bool = Field(
        default=False,
        description=(
            "Create a HorizontalPodAutoscaler for the service. It needs a metrics server "
            "in the cluster and a CPU request (its target is a share of it); while enabled "
            "the HPA, not replicas, sets the replica count."
        ),
    )
    min_replicas: Replicas = Field(default=2, description="Fewest replicas the HPA keeps.")
    max_replicas: Replicas = Field(default=5, description="Most replicas the HPA may run.")
    target_cpu_utilization_percentage: int = Field(
        default=70,
        ge=1,
        le=100,
        alias="targetCPUUtilizationPercentage",
        description="Average CPU use, in percent of the CPU request, that the HPA aims for.",
    )
    scale_down_stabilization_window_seconds: int = Field(
        default=300,
        ge=0,
        le=3600,
        description=(
            "Seconds the HPA looks back before it removes Pods: it scales in only to the "
            "highest replica count it recommended within this window, so a short dip in "
            "load does not take away Pods needed again a moment later. 300 is "
            "Kubernetes' default; 0 scales in as soon as the load falls."
        ),
    )

    @cel_rule(
        "self.minReplicas <= self.maxReplicas",
        "minReplicas must be less than or equal to maxReplicas",
        field_path=".minReplicas",
    )
    def _min_not_above_max(self) -> bool:
        return self.min_replicas <= self.max_replicas


class Rollout(ResourceModel):
    """How a new version of the service rolls out (a rolling update with no Pod down)."""

    progress_deadline_seconds: int = Field(
        default=600,
        ge=10,
        le=86400,
        description="Seconds a rollout may go without progress (a new Pod ready) before "
        "Kubernetes marks it failed (Progressing=False, ProgressDeadlineExceeded); the "
        "operator then rolls the store's release back to the last revision that rolled out. "
        "Above the Pods' longest start-up (startup probe and Vault agent).",
    )


class ServiceSpec(ResourceModel):
    """How one service runs."""

    enabled: bool = Field(
        default=True,
        description="Run the service. Disabled services get no Deployment. Only services "
        "whose code exists can be enabled; the others default to false.",
    )
    replicas: Replicas = Field(
        default=2, description="Number of Pods while autoscaling is disabled."
    )
    resources: Resources = Field(default_factory=Resources)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    rollout: Rollout = Field(default_factory=Rollout)


def _service(name: str) -> Any:
    # Every service gets its own field (not a free-form map) so the CRD defaults
    # each one, `kubectl explain` lists them and typos are rejected.
    what = f"{name}: {service_summary(name)}."
    if name in IMPLEMENTED_SERVICES:
        return Field(default_factory=ServiceSpec, description=what)
    return Field(
        default_factory=lambda: ServiceSpec(enabled=False),
        description=f"{what} Not built yet: off, and cannot be enabled.",
    )


def _words(names: tuple[str, ...]) -> str:
    return " and ".join(filter(None, [", ".join(names[:-1]), *names[-1:]]))


# One rule for all unbuilt services (the CEL twin of _only_built_services_enabled).
_UNBUILT_RULE = " && ".join(f"!self.{name}.enabled" for name in UNBUILT_SERVICES) or "true"
_UNBUILT_MESSAGE = (
    f"only {_words(IMPLEMENTED_SERVICES)} can be enabled: "
    f"{_words(UNBUILT_SERVICES)} have no code yet (set their enabled to false)"
)


class _Services(ResourceModel):
    """Settings per service, keyed by service name."""

    @cel_rule(_UNBUILT_RULE, _UNBUILT_MESSAGE)
    def _only_built_services_enabled(self) -> bool:
        return not any(self.get(name).enabled for name in UNBUILT_SERVICES)

    def get(self, name: str) -> ServiceSpec:
        """The settings of the service called ``name`` (one of SERVICE_NAMES)."""
        if name not in SERVICE_NAMES:
            raise KeyError(f"unknown service {name!r}; services are {', '.join(SERVICE_NAMES)}")
        service: ServiceSpec = getattr(self, name)
        return service

    def items(self) -> Iterator[tuple[str, ServiceSpec]]:
        """(name, settings) of every service, in SERVICE_NAMES order."""
        for name in SERVICE_NAMES:
            yield name, self.get(name)

    def enabled(self) -> list[str]:
        """Names of the services that run."""
        return [name for name, service in self.items() if service.enabled]


# One field per service, made from SERVICE_NAMES so a new descriptor adds its
# field; code reaches the fields through get() and items(), which type-check.
if TYPE_CHECKING:
    ServicesSpec = _Services
else:
    ServicesSpec = create_model(
        "ServicesSpec",
        __base__=_Services,
        __doc__=_Services.__doc__,
        __module__=__name__,
        **{name: (ServiceSpec, _service(name)) for name in SERVICE_NAMES},
    )
