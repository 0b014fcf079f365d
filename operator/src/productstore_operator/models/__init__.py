"""The ProductStore resource as pydantic models: spec, status and API names.

Pure data and validation: nothing here talks to Kubernetes, so builders and
the CRD generator can use it freely.
"""

from productstore_operator.models.cassandra import (
    CassandraSpec,
    ExternalCassandra,
    K8ssandraCassandra,
    K8ssandraDatacenter,
    Replication,
)
from productstore_operator.models.mesh import (
    CircuitBreaker,
    IstioSpec,
    Retries,
    TrafficOverride,
    TrafficPolicy,
)
from productstore_operator.models.observability import (
    AlertingSpec,
    AvailabilitySLO,
    LatencySLO,
    ObservabilitySpec,
    ServiceSLOs,
    SlackReceiver,
    SLOsSpec,
    TelegramReceiver,
)
from productstore_operator.models.resource import (
    API_VERSION,
    CRD_NAME,
    GROUP,
    KIND,
    PLURAL,
    VERSION,
)
from productstore_operator.models.services import (
    IMPLEMENTED_SERVICES,
    PLANNED_SERVICES,
    SERVICE_NAMES,
    Autoscaling,
    Resources,
    Rollout,
    ServiceSpec,
    ServicesSpec,
    service_summary,
)
from productstore_operator.models.spec import (
    GatewaySpec,
    ImageSpec,
    KafkaSpec,
    ProductStoreSpec,
    RedisSpec,
    TracingSpec,
    VaultSpec,
)
from productstore_operator.models.status import (
    CONDITION_TYPES,
    Condition,
    ProductStoreStatus,
    ServiceStatus,
    VaultStatus,
)

__all__ = [
    "API_VERSION",
    "CONDITION_TYPES",
    "CRD_NAME",
    "GROUP",
    "IMPLEMENTED_SERVICES",
    "KIND",
    "PLANNED_SERVICES",
    "PLURAL",
    "SERVICE_NAMES",
    "VERSION",
    "AlertingSpec",
    "Autoscaling",
    "AvailabilitySLO",
    "CassandraSpec",
    "CircuitBreaker",
    "Condition",
    "ExternalCassandra",
    "GatewaySpec",
    "ImageSpec",
    "IstioSpec",
    "K8ssandraCassandra",
    "K8ssandraDatacenter",
    "KafkaSpec",
    "LatencySLO",
    "ObservabilitySpec",
    "ProductStoreSpec",
    "ProductStoreStatus",
    "RedisSpec",
    "Replication",
    "Resources",
    "Retries",
    "Rollout",
    "SLOsSpec",
    "ServiceSLOs",
    "ServiceSpec",
    "ServiceStatus",
    "ServicesSpec",
    "SlackReceiver",
    "TelegramReceiver",
    "TracingSpec",
    "TrafficOverride",
    "TrafficPolicy",
    "VaultSpec",
    "VaultStatus",
    "service_summary",
]
