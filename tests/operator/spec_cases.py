"""ProductStore specs for tests: a builder over the minimal sample and tables of
valid and invalid specs, shared by the model tests and the apiserver tests so
both layers are held to the same cases."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "manifests" / "samples"
SAMPLES = (
    "productstore-minimal",
    "productstore-full",
    "productstore-devstack",
    "productstore-node",
)
REMOVE = object()  # spec_with value that deletes the key


def load_sample(name: str) -> dict[str, Any]:
    document = yaml.safe_load((SAMPLES_DIR / f"{name}.yaml").read_text())
    assert isinstance(document, dict)
    return document


def minimal_spec() -> dict[str, Any]:
    spec = load_sample("productstore-minimal")["spec"]
    assert isinstance(spec, dict)
    return spec


def spec_with(changes: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of ``base`` (the minimal spec) with dotted paths set, e.g.
    ``{"services.catalog.replicas": 3}``; REMOVE deletes a key."""
    spec = copy.deepcopy(base if base is not None else minimal_spec())
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = spec
        for key in parents:
            node = node.setdefault(key, {})
        if value is REMOVE:
            node.pop(leaf, None)
        else:
            node[leaf] = copy.deepcopy(value)
    return spec


EXTERNAL_CASSANDRA = {"contactPoints": ["10.0.0.1"], "localDatacenter": "dc-east"}


@dataclass(frozen=True)
class Invalid:
    """A spec both pydantic and the apiserver must reject, and how each says so."""

    id: str
    changes: dict[str, Any]
    # pydantic: location of the error (aliases) and a piece of its message.
    loc: tuple[str | int, ...]
    model_message: str
    # apiserver: the field it blames and a piece of the message the user sees.
    api_field: str
    api_message: str


# Where a CEL rule fails, pydantic and the apiserver print the same message.
INVALID = [
    Invalid(
        "gateway-node-port-without-node-port-type",
        {"gateway": {"enabled": True, "nodePort": 30080}},
        ("gateway",),
        "gateway.nodePort is set but gateway.serviceType is not NodePort",
        "spec.gateway.nodePort",
        "gateway.nodePort is set but gateway.serviceType is not NodePort",
    ),
    Invalid(
        "gateway-node-port-below-range",
        {"gateway": {"enabled": True, "serviceType": "NodePort", "nodePort": 8080}},
        ("gateway", "nodePort"),
        "Input should be greater than or equal to 30000",
        "spec.gateway.nodePort",
        "should be greater than or equal to 30000",
    ),
    Invalid(
        "gateway-node-port-above-range",
        {"gateway": {"serviceType": "NodePort", "nodePort": 32768}},
        ("gateway", "nodePort"),
        "Input should be less than or equal to 32767",
        "spec.gateway.nodePort",
        "should be less than or equal to 32767",
    ),
    Invalid(
        "gateway-load-balancer-type",
        {"gateway.serviceType": "LoadBalancer"},
        ("gateway", "serviceType"),
        "Input should be 'ClusterIP' or 'NodePort'",
        "spec.gateway.serviceType",
        'Unsupported value: "LoadBalancer": supported values: "ClusterIP", "NodePort"',
    ),
    Invalid(
        "autoscaling-min-above-max",
        {"services.catalog.autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}},
        ("services", "catalog", "autoscaling"),
        "minReplicas must be less than or equal to maxReplicas",
        "spec.services.catalog.autoscaling.minReplicas",
        "minReplicas must be less than or equal to maxReplicas",
    ),
    Invalid(
        "k8ssandra-size-zero",
        {"cassandra.k8ssandra.datacenter.size": 0},
        ("cassandra", "k8ssandra", "datacenter", "size"),
        "Input should be greater than or equal to 1",
        "spec.cassandra.k8ssandra.datacenter.size",
        "should be greater than or equal to 1",
    ),
    Invalid(
        "toleration-exists-with-value",
        {"scheduling.tolerations": [{"key": "pool", "operator": "Exists", "value": "x"}]},
        ("scheduling", "tolerations", 0),
        "a toleration with operator Exists takes no value",
        "spec.scheduling.tolerations[0].value",
        "a toleration with operator Exists takes no value",
    ),
    Invalid(
        "toleration-seconds-without-no-execute",
        {
            "scheduling.tolerations": [
                {"key": "pool", "value": "x", "effect": "NoSchedule", "tolerationSeconds": 5}
            ]
        },
        ("scheduling", "tolerations", 0),
        "tolerationSeconds is only for effect NoExecute",
        "spec.scheduling.tolerations[0].tolerationSeconds",
        "tolerationSeconds is only for effect NoExecute",
    ),
    Invalid(
        "unknown-mtls-mode",
        {"istio.mtlsMode": "DISABLE"},
        ("istio", "mtlsMode"),
        "Input should be 'STRICT' or 'PERMISSIVE'",
        "spec.istio.mtlsMode",
        'Unsupported value: "DISABLE": supported values: "STRICT", "PERMISSIVE"',
    ),
    Invalid(
        "sample-ratio-above-one",
        {"tracing.sampleRatio": 2},
        ("tracing", "sampleRatio"),
        "Input should be less than or equal to 1",
        "spec.tracing.sampleRatio",
        "should be less than or equal to 1",
    ),
    Invalid(
        "external-mode-without-external",
        {"cassandra.mode": "external", "cassandra.replication.datacenters": {"dc-east": 3}},
        ("cassandra",),
        "cassandra.external is required when mode is external",
        "spec.cassandra.external",
        "cassandra.external is required when mode is external",
    ),
    Invalid(
        "external-block-in-k8ssandra-mode",
        {"cassandra.external": EXTERNAL_CASSANDRA},
        ("cassandra",),
        "cassandra.external is only allowed when mode is external",
        "spec.cassandra.external",
        "cassandra.external is only allowed when mode is external",
    ),
    Invalid(
        "external-without-replication-factors",
        {"cassandra.mode": "external", "cassandra.external": EXTERNAL_CASSANDRA},
        ("cassandra",),
        "must give a replication factor per datacenter when mode is external",
        "spec.cassandra.replication.datacenters",
        "must give a replication factor per datacenter when mode is external",
    ),
    Invalid(
        "replication-factor-above-datacenter-size",
        {"cassandra.k8ssandra.datacenter.size": 1, "cassandra.replication.datacenters": {"dc1": 3}},
        ("cassandra",),
        "a replication factor cannot exceed cassandra.k8ssandra.datacenter.size",
        "spec.cassandra.replication",
        "a replication factor cannot exceed cassandra.k8ssandra.datacenter.size",
    ),
    Invalid(
        "replication-names-foreign-datacenter",
        {"cassandra.replication.datacenters": {"dc2": 1}},
        ("cassandra",),
        "cassandra.replication.datacenters may only name the k8ssandra datacenter",
        "spec.cassandra.replication.datacenters",
        "cassandra.replication.datacenters may only name the k8ssandra datacenter",
    ),
    Invalid(
        "simple-strategy-without-factor",
        {"cassandra.replication.class": "SimpleStrategy"},
        ("cassandra", "replication"),
        "SimpleStrategy takes replicationFactor, not datacenters",
        "spec.cassandra.replication",
        "SimpleStrategy takes replicationFactor, not datacenters",
    ),
    Invalid(
        "factor-with-network-topology",
        {"cassandra.replication.replicationFactor": 3},
        ("cassandra", "replication"),
        "replicationFactor is only for SimpleStrategy",
        "spec.cassandra.replication.replicationFactor",
        "replicationFactor is only for SimpleStrategy",
    ),
    Invalid(
        "kafka-without-servers",
        {"kafka.bootstrapServers": REMOVE},
        ("kafka", "bootstrapServers"),
        "Field required",
        "spec.kafka.bootstrapServers",
        "Required value",
    ),
    Invalid(
        "kafka-no-servers",
        {"kafka.bootstrapServers": []},
        ("kafka", "bootstrapServers"),
        "List should have at least 1 item",
        "spec.kafka.bootstrapServers",
        "should have at least 1 items",
    ),
    Invalid(
        "kafka-missing",
        {"kafka": REMOVE},
        ("kafka",),
        "Field required",
        "spec.kafka",
        "Required value",
    ),
    # There is no inCluster mode (docs/adr/0036): the user runs Kafka and Redis.
    Invalid(
        "kafka-in-cluster-removed",
        {"kafka.mode": "inCluster"},
        ("kafka", "mode"),
        "Input should be 'external'",
        "spec.kafka.mode",
        'Unsupported value: "inCluster"',
    ),
    Invalid(
        "redis-without-url",
        {"redis.url": REMOVE},
        ("redis", "url"),
        "Field required",
        "spec.redis.url",
        "Required value",
    ),
    Invalid(
        "redis-in-cluster-removed",
        {"redis.mode": "inCluster"},
        ("redis", "mode"),
        "Input should be 'external'",
        "spec.redis.mode",
        'Unsupported value: "inCluster"',
    ),
    Invalid(
        "unbuilt-service-enabled",
        {"services.analytics.enabled": True},
        ("services",),
        "only auth, catalog, orders, inventory, wishlist, reviews and notifications can be "
        "enabled: analytics and recommendations have no code yet",
        "spec.services",
        "only auth, catalog, orders, inventory, wishlist, reviews and notifications can be enabled",
    ),
    # Settings alone enable a service (enabled defaults to true in each entry).
    Invalid(
        "unbuilt-service-given-settings",
        {"services.analytics": {"replicas": 3}},
        ("services",),
        "only auth, catalog, orders, inventory, wishlist, reviews and notifications can be enabled",
        "spec.services",
        "only auth, catalog, orders, inventory, wishlist, reviews and notifications can be enabled",
    ),
    Invalid(
        "version-not-semver",
        {"version": "latest"},
        ("version",),
        "String should match pattern",
        "spec.version",
        "spec.version in body should match",
    ),
    Invalid(
        "vault-name-not-a-label",
        {"vault.name": "Prod_Vault"},
        ("vault", "name"),
        "String should match pattern",
        "spec.vault.name",
        "spec.vault.name in body should match",
    ),
    Invalid(
        "replicas-zero",
        {"services.orders.replicas": 0},
        ("services", "orders", "replicas"),
        "Input should be greater than or equal to 1",
        "spec.services.orders.replicas",
        "should be greater than or equal to 1",
    ),
    Invalid(
        "timeout-not-a-duration",
        {"istio.traffic.timeout": "10 seconds"},
        ("istio", "traffic", "timeout"),
        "String should match pattern",
        "spec.istio.traffic.timeout",
        "spec.istio.traffic.timeout in body should match",
    ),
    Invalid(
        "memory-not-a-quantity",
        {"services.catalog.resources.limits.memory": "lots"},
        ("services", "catalog", "resources", "limits", "memory"),
        "String should match pattern",
        "spec.services.catalog.resources.limits.memory",
        "in body should match",
    ),
    Invalid(
        "unknown-service",
        {"services.payments": {"replicas": 2}},
        ("services", "payments"),
        "Extra inputs are not permitted",
        "spec.services.payments",
        'unknown field "spec.services.payments"',
    ),
    Invalid(
        "slo-objective-100",
        {"observability.slos.catalog.availability.objective": 100},
        ("observability", "slos", "catalog", "availability"),
        "100 leaves no error budget to alert on",
        "spec.observability.slos.catalog.availability.objective",
        "100 leaves no error budget to alert on",
    ),
    Invalid(
        "slo-objective-zero",
        {"observability.slos.auth.latency.objective": 0},
        ("observability", "slos", "auth", "latency"),
        "objective is a percentage of good requests above 0 and below 100",
        "spec.observability.slos.auth.latency.objective",
        "objective is a percentage of good requests above 0 and below 100",
    ),
    Invalid(
        "slo-threshold-not-a-bucket",
        {"observability.slos.catalog.latency.thresholdMilliseconds": 300},
        ("observability", "slos", "catalog", "latency", "thresholdMilliseconds"),
        "Input should be 5, 10, 25",
        "spec.observability.slos.catalog.latency.thresholdMilliseconds",
        "Unsupported value: 300: supported values:",
    ),
    Invalid(
        "slo-unknown-service",
        {"observability.slos.payments": {}},
        ("observability", "slos"),
        "unknown service payments in observability.slos; services are auth, catalog",
        "spec.observability.slos.payments",
        'unknown field "spec.observability.slos.payments"',
    ),
    Invalid(
        "receiver-key-in-a-service-folder",
        {"observability.alerting.slack": {"vaultKey": "catalog/slack"}},
        ("observability", "alerting", "slack"),
        "vaultKey must not be below a service's folder",
        "spec.observability.alerting.slack.vaultKey",
        "vaultKey must not be below a service's folder",
    ),
    Invalid(
        "receiver-key-leaves-the-folder",
        {"observability.alerting.telegram": {"vaultKey": "../other/telegram", "chatId": 1}},
        ("observability", "alerting", "telegram", "vaultKey"),
        "String should match pattern",
        "spec.observability.alerting.telegram.vaultKey",
        "should match",
    ),
    Invalid(
        "receivers-share-a-key",
        {
            "observability.alerting": {
                "slack": {"vaultKey": "alerting/chat"},
                "telegram": {"vaultKey": "alerting/chat", "chatId": -100},
            }
        },
        ("observability", "alerting"),
        "alerting.slack.vaultKey and alerting.telegram.vaultKey must differ",
        "spec.observability.alerting.telegram.vaultKey",
        "alerting.slack.vaultKey and alerting.telegram.vaultKey must differ",
    ),
    Invalid(
        "misspelled-field",
        {"istio.mtls": "STRICT"},
        ("istio", "mtls"),
        "Extra inputs are not permitted",
        "spec.istio.mtls",
        'unknown field "spec.istio.mtls"',
    ),
]


# Valid specs beyond the samples: edges of every rule, from the accepting side.
VALID: dict[str, dict[str, Any]] = {
    "autoscaling-min-equals-max": {
        "services.catalog.autoscaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 3}
    },
    "quantities-as-integers": {"services.catalog.resources.requests": {"cpu": 1, "memory": 1}},
    "sample-ratio-zero": {"tracing.sampleRatio": 0},
    "slo-objectives-set": {
        "observability.slos.catalog": {
            "availability": {"objective": 99.5},
            "latency": {"objective": 95, "thresholdMilliseconds": 100},
        },
        "observability.slos.auth.latency.enabled": False,
    },
    "slo-for-an-unbuilt-service": {"observability.slos.analytics.availability.objective": 99},
    "receivers": {
        "observability.alerting": {
            "slack": {"vaultKey": "alerting/slack", "channel": "#shop-alerts"},
            "telegram": {"vaultKey": "alerting/telegram", "chatId": -1001234},
        }
    },
    "sample-ratio-one": {"tracing.sampleRatio": 1},
    "replication-factor-equals-size": {
        "cassandra.k8ssandra.datacenter.size": 1,
        "cassandra.replication.datacenters": {"dc1": 1},
    },
    "simple-strategy": {
        "cassandra.replication": {"class": "SimpleStrategy", "replicationFactor": 1},
        "cassandra.k8ssandra.datacenter.size": 1,
    },
    "external-simple-strategy": {
        "cassandra.mode": "external",
        "cassandra.external": EXTERNAL_CASSANDRA,
        "cassandra.replication": {"class": "SimpleStrategy", "replicationFactor": 3},
    },
    "external-many-datacenters": {
        "cassandra.mode": "external",
        "cassandra.external": {**EXTERNAL_CASSANDRA, "port": 19042},
        "cassandra.replication.datacenters": {"dc-east": 3, "dc-west": 2},
    },
    "service-disabled": {"services.catalog.enabled": False, "services.auth.enabled": False},
    "unbuilt-service-configured-off": {
        "services.analytics": {"enabled": False, "replicas": 3, "autoscaling": {"enabled": True}}
    },
    "istio-off-permissive": {"istio": {"enabled": False, "mtlsMode": "PERMISSIVE"}},
    "wildcard-gateway-with-tls": {
        "gateway": {"host": "*.shop.example.com", "tlsSecretName": "wildcard-tls"}
    },
    "gateway-node-port": {
        "gateway": {"enabled": True, "serviceType": "NodePort", "nodePort": 30080}
    },
    "gateway-node-port-picked": {"gateway": {"enabled": True, "serviceType": "NodePort"}},
    "gateway-cluster-ip-behind-host": {"gateway": {"enabled": True, "host": "shop.example.com"}},
    "kafka-ipv6-broker": {"kafka": {"mode": "external", "bootstrapServers": ["[::1]:9092"]}},
    "redis-tls": {"redis": {"mode": "external", "url": "rediss://cache.example.com:6380/2"}},
    "vault-named": {"vault": {"name": "eu-west-1", "injector": {"enabled": False}}},
}
