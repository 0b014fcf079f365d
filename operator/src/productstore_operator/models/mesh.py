"""Istio: mTLS, and per-service retries, timeouts and circuit breaking.

``istio.traffic`` applies to every service; ``istio.services.<name>`` overrides
single fields of it for one service (unset fields inherit), so a user who
changes one timeout does not restate the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, StringConstraints, create_model

from productstore_operator.models.base import Duration, ResourceModel
from productstore_operator.models.services import SERVICE_NAMES

# Istio's retryOn: comma-separated conditions (5xx, reset, ...) or HTTP status codes.
RetryOn = Annotated[str, StringConstraints(max_length=256, pattern=r"^[a-z0-9-]+(,[a-z0-9-]+)*$")]
RetryAttempts = Annotated[int, Field(ge=0, le=10)]

_ATTEMPTS = "Retries after the first try; 0 disables retries."
_PER_TRY = (
    "Timeout of each try, e.g. 3s. A try that times out is not retried by the default "
    "retryOn, so this is the longest a request the service received may take."
)
_RETRY_ON = (
    "Istio retryOn conditions, comma-separated. The default retries only requests the "
    "service never received, which is safe for non-idempotent calls."
)
_TIMEOUT = "Timeout of a whole request to the service, retries included, e.g. 10s."
_CONSECUTIVE = "Consecutive 5xx answers after which a Pod is ejected from the load-balancing pool."
_INTERVAL = "How often Pods are checked for ejection, e.g. 10s."
_EJECTION = "How long an ejected Pod stays out at first (it grows with each ejection), e.g. 30s."
_MAX_CONNECTIONS = "Most TCP connections to the service from each client Pod."
_MAX_PENDING = "Most requests waiting for a connection to the service from each client Pod."


class Retries(ResourceModel):
    """Retries of idempotent failures (VirtualService retries)."""

    attempts: RetryAttempts = Field(default=2, description=_ATTEMPTS)
    # 3 tries of 3s still fit in the 10s timeout.
    per_try_timeout: Duration = Field(default="3s", description=_PER_TRY)
    retry_on: RetryOn = Field(default="connect-failure,refused-stream", description=_RETRY_ON)


class CircuitBreaker(ResourceModel):
    """Outlier detection and connection-pool limits (DestinationRule trafficPolicy)."""

    consecutive_5xx_errors: int = Field(
        default=5, ge=1, le=1000, alias="consecutive5xxErrors", description=_CONSECUTIVE
    )
    interval: Duration = Field(default="10s", description=_INTERVAL)
    base_ejection_time: Duration = Field(default="30s", description=_EJECTION)
    max_connections: int = Field(default=1024, ge=1, le=1_000_000, description=_MAX_CONNECTIONS)
    http1_max_pending_requests: int = Field(
        default=1024, ge=1, le=1_000_000, description=_MAX_PENDING
    )


class TrafficPolicy(ResourceModel):
    """Timeout, retries and circuit breaking of calls to a service."""

    timeout: Duration = Field(default="10s", description=_TIMEOUT)
    retries: Retries = Field(
        default_factory=Retries, description="Retries of failed tries (VirtualService retries)."
    )
    circuit_breaker: CircuitBreaker = Field(
        default_factory=CircuitBreaker,
        description="Circuit breaking (DestinationRule outlier detection and connection pool).",
    )


class RetriesOverride(ResourceModel):
    """Retry fields that differ from istio.traffic.retries; unset fields inherit."""

    attempts: RetryAttempts | None = Field(default=None, description=_ATTEMPTS)
    per_try_timeout: Duration | None = Field(default=None, description=_PER_TRY)
    retry_on: RetryOn | None = Field(default=None, description=_RETRY_ON)


class CircuitBreakerOverride(ResourceModel):
    """Circuit-breaker fields that differ from istio.traffic.circuitBreaker; unset ones inherit."""

    consecutive_5xx_errors: int | None = Field(
        default=None, ge=1, le=1000, alias="consecutive5xxErrors", description=_CONSECUTIVE
    )
    interval: Duration | None = Field(default=None, description=_INTERVAL)
    base_ejection_time: Duration | None = Field(default=None, description=_EJECTION)
    max_connections: int | None = Field(
        default=None, ge=1, le=1_000_000, description=_MAX_CONNECTIONS
    )
    http1_max_pending_requests: int | None = Field(
        default=None, ge=1, le=1_000_000, description=_MAX_PENDING
    )


class TrafficOverride(ResourceModel):
    """Traffic-policy fields of one service that differ from istio.traffic."""

    timeout: Duration | None = Field(default=None, description=_TIMEOUT)
    retries: RetriesOverride | None = Field(default=None, description="Retry overrides.")
    circuit_breaker: CircuitBreakerOverride | None = Field(
        default=None, description="Circuit-breaker overrides."
    )


def _override(name: str) -> Any:
    return Field(default=None, description=f"Traffic-policy overrides for {name}.")


class _TrafficOverrides(ResourceModel):
    """Per-service traffic-policy overrides, keyed by service name."""

    def get(self, service: str) -> TrafficOverride | None:
        """The overrides of ``service`` (one of SERVICE_NAMES), None when it has none."""
        if service not in SERVICE_NAMES:
            raise KeyError(f"unknown service {service!r}; services are {', '.join(SERVICE_NAMES)}")
        override: TrafficOverride | None = getattr(self, service)
        return override


# One field per service, from SERVICE_NAMES like ServicesSpec, so a new
# descriptor adds its field.
if TYPE_CHECKING:
    ServiceTrafficOverrides = _TrafficOverrides
else:
    ServiceTrafficOverrides = create_model(
        "ServiceTrafficOverrides",
        __base__=_TrafficOverrides,
        __doc__=_TrafficOverrides.__doc__,
        __module__=__name__,
        **{name: (TrafficOverride | None, _override(name)) for name in SERVICE_NAMES},
    )


def _merged(base: ResourceModel, override: ResourceModel | None) -> dict[str, Any]:
    values = base.model_dump(by_alias=False)
    if override is not None:
        values.update(override.model_dump(by_alias=False, exclude_none=True))
    return values


class IstioSpec(ResourceModel):
    """Istio service mesh policies for the store (needs Istio in the cluster)."""

    enabled: bool = Field(
        default=True,
        description="Create PeerAuthentication, AuthorizationPolicies, DestinationRules "
        "and VirtualServices for the store.",
    )
    mtls_mode: Literal["STRICT", "PERMISSIVE"] = Field(
        default="STRICT",
        description="Mutual TLS between the store's Pods: STRICT accepts only mTLS; "
        "PERMISSIVE also accepts plain text (while migrating clients).",
    )
    traffic: TrafficPolicy = Field(
        default_factory=TrafficPolicy, description="Traffic policy of every service."
    )
    services: ServiceTrafficOverrides = Field(
        default_factory=ServiceTrafficOverrides,
        description="Per-service overrides of traffic, keyed by service name.",
    )

    def traffic_for(self, service: str) -> TrafficPolicy:
        """The effective traffic policy of ``service``: traffic with its overrides applied."""
        override = self.services.get(service)
        if override is None:
            return self.traffic
        return TrafficPolicy(
            timeout=override.timeout or self.traffic.timeout,
            retries=Retries(**_merged(self.traffic.retries, override.retries)),
            circuit_breaker=CircuitBreaker(
                **_merged(self.traffic.circuit_breaker, override.circuit_breaker)
            ),
        )
