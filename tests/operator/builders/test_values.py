"""build_release_values: tables of specs, checked against the chart's schema
and rendered by the real helm."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from devstack.components.helm import Helm
from productstore_operator.builders import (
    InvalidSpecError,
    StoreRef,
    build_release_values,
    build_rule_groups,
    build_vault_config,
    naming,
)
from productstore_operator.builders.dashboards import build_dashboards
from productstore_operator.builders.naming import service_account_name
from productstore_operator.callgraph import callers_of
from productstore_operator.models import IMPLEMENTED_SERVICES, ProductStoreSpec
from tests.operator.builders.support import (
    NAMESPACE,
    SAMPLE_IDS,
    SETTINGS,
    chart_defaults,
    chart_schema,
    coalesce,
    render,
    sample,
    spec,
    without_nulls,
    without_required,
)
from tests.operator.spec_cases import SAMPLES
from tests.support.helm import HelmCli

SHOP = StoreRef("shop", NAMESPACE)
EXTERNAL = {
    "cassandra.mode": "external",
    "cassandra.external": {
        "contactPoints": ["10.0.0.1", "cassandra.example.com"],
        "port": 19042,
        "localDatacenter": "east",
    },
    "cassandra.replication.datacenters": {"east": 3},
}

# (id, spec, store): every sample plus the shapes the samples do not cover.
CASES: list[tuple[str, ProductStoreSpec, StoreRef]] = [
    *[(id_, *sample(name)) for id_, name in zip(SAMPLE_IDS, SAMPLES, strict=True)],
    ("external-cassandra", spec(EXTERNAL), SHOP),
    ("istio-off", spec({"istio.enabled": False}), SHOP),
    # orders and wishlist call the catalog: without it, neither.
    (
        "auth-only",
        spec(
            {
                "services.catalog.enabled": False,
                "services.orders.enabled": False,
                "services.wishlist.enabled": False,
                # It asks the catalog for product names (ADR 0034).
                "services.notifications.enabled": False,
            }
        ),
        SHOP,
    ),
    ("vault-injector-off", spec({"vault.injector.enabled": False}), SHOP),
    ("gateway-host", spec({"gateway.host": "shop.example.com"}), SHOP),
    (
        "gateway-node-port",
        spec(
            {"gateway.enabled": True, "gateway.serviceType": "NodePort", "gateway.nodePort": 30080}
        ),
        SHOP,
    ),
    (
        "single-replicas",
        spec({f"services.{name}.replicas": 1 for name in IMPLEMENTED_SERVICES}),
        StoreRef("a" * 40, "n" * 63),
    ),
]
CASE_IDS = [case[0] for case in CASES]


def build(spec_: ProductStoreSpec, store: StoreRef = SHOP) -> dict[str, Any]:
    return build_release_values(spec_, store, SETTINGS)


def at(values: dict[str, Any], path: str) -> Any:
    node: Any = values
    for key in path.split("."):
        node = node[key]
    return node


@pytest.mark.parametrize(("id_", "spec_", "store"), CASES, ids=CASE_IDS)
def test_every_key_is_one_the_chart_knows(
    id_: str, spec_: ProductStoreSpec, store: StoreRef
) -> None:
    values = build(spec_, store)
    jsonschema.Draft7Validator(without_required(chart_schema())).validate(without_nulls(values))


@pytest.mark.parametrize(("id_", "spec_", "store"), CASES, ids=CASE_IDS)
def test_values_merged_with_chart_defaults_validate(
    id_: str, spec_: ProductStoreSpec, store: StoreRef
) -> None:
    merged = coalesce(chart_defaults(), build(spec_, store))
    jsonschema.Draft7Validator(chart_schema()).validate(merged)


EXPECTED: list[tuple[str, dict[str, Any], str, Any]] = [
    ("image-tag-is-version", {"version": "2.3.4"}, "global.image.tag", "2.3.4"),
    ("registry", {"image.registry": "r.example/ps"}, "global.image.registry", "r.example/ps"),
    ("pull-secrets", {"image.pullSecrets": ["a", "b"]}, "global.imagePullSecrets", ["a", "b"]),
    (
        "k8ssandra-contact-point",
        {"cassandra.k8ssandra.datacenter.name": "west"},
        "config.cassandra",
        {
            "contactPoints": "shop-west-service.shop-ns.svc.cluster.local",
            "port": 9042,
            "localDatacenter": "west",
            "keyspace": "ps_shop_a7fdec58",
            # Three nodes by default: three copies in the one datacenter.
            "replication": '{"class": "NetworkTopologyStrategy", "west": 3}',
        },
    ),
    (
        "external-contact-points",
        EXTERNAL,
        "config.cassandra",
        {
            "contactPoints": "10.0.0.1,cassandra.example.com",
            "port": 19042,
            "localDatacenter": "east",
            "keyspace": "ps_shop_a7fdec58",
            "replication": '{"class": "NetworkTopologyStrategy", "east": 3}',
        },
    ),
    # The minimal sample's addresses: the operator creates no Kafka or Redis yet.
    ("kafka-from-spec", {}, "config.kafka.bootstrapServers", "kafka-bootstrap.kafka.svc:9092"),
    (
        "kafka-external",
        {"kafka.mode": "external", "kafka.bootstrapServers": ["k1:9092", "k2:9093"]},
        "config.kafka.bootstrapServers",
        "k1:9092,k2:9093",
    ),
    (
        "simple-strategy",
        {"cassandra.replication": {"class": "SimpleStrategy", "replicationFactor": 2}},
        "config.cassandra.replication",
        '{"class": "SimpleStrategy", "replication_factor": 2}',
    ),
    # Production pods migrate and create topics only when told (the chart says so).
    ("kafka-creates-topics", {}, "config.kafka.createTopics", True),
    ("migrations-on-start", {}, "config.migrations", {"onStart": True}),
    ("redis-from-spec", {}, "config.redis.url", "redis://redis.redis.svc:6379/0"),
    (
        "redis-external",
        {"redis.mode": "external", "redis.url": "rediss://r:6380/1"},
        "config.redis.url",
        "rediss://r:6380/1",
    ),
    ("tracing-off", {}, "config.tracing", {"enabled": False, "sampleRatio": 0.1}),
    (
        "tracing-on",
        {"tracing.endpoint": "http://otel:4318", "tracing.sampleRatio": 0.5},
        "config.tracing",
        {"enabled": True, "sampleRatio": 0.5, "endpoint": "http://otel:4318"},
    ),
    ("replicas", {"services.catalog.replicas": 7}, "services.catalog.replicas", 7),
    (
        "disabled",
        {
            "services.catalog.enabled": False,
            "services.orders.enabled": False,
            "services.wishlist.enabled": False,
            "services.notifications.enabled": False,
        },
        "services.catalog.enabled",
        False,
    ),
    ("unbuilt-off", {}, "services.analytics.enabled", False),
    ("no-cpu-limit", {}, "services.catalog.resources.limits", {"memory": "512Mi"}),
    (
        "cpu-limit",
        {"services.catalog.resources.limits.cpu": "1500m"},
        "services.catalog.resources.limits",
        {"memory": "512Mi", "cpu": "1500m"},
    ),
    (
        "autoscaling",
        {"services.catalog.autoscaling": {"enabled": True, "minReplicas": 4, "maxReplicas": 9}},
        "services.catalog.autoscaling",
        {
            "enabled": True,
            "minReplicas": 4,
            "maxReplicas": 9,
            "targetCPUUtilizationPercentage": 70,
            "scaleDownStabilizationWindowSeconds": 300,
        },
    ),
    (
        "autoscaling-scale-down-window",
        {"services.catalog.autoscaling": {"scaleDownStabilizationWindowSeconds": 30}},
        "services.catalog.autoscaling.scaleDownStabilizationWindowSeconds",
        30,
    ),
    ("pdb-two-replicas", {}, "services.catalog.pdb", {"enabled": True, "minAvailable": 1}),
    (
        "pdb-single-replica",
        {"services.catalog.replicas": 1},
        "services.catalog.pdb",
        {"enabled": False, "minAvailable": 1},
    ),
    (
        "pdb-follows-autoscaling-minimum",
        {"services.catalog.autoscaling": {"enabled": True, "minReplicas": 4, "maxReplicas": 9}},
        "services.catalog.pdb",
        {"enabled": True, "minAvailable": 3},
    ),
    ("service-account", {}, "services.orders.serviceAccount.name", "shop-orders"),
    (
        "auth-callers",
        {},
        "services.auth.allowedCallers",
        {
            "gateway": True,
            "auth": False,
            "catalog": True,
            "orders": True,
            "inventory": True,
            "wishlist": True,
            "reviews": True,
            "notifications": True,
            "analytics": False,
            "recommendations": False,
        },
    ),
    (
        "disabled-caller-not-allowed",
        {
            "services.catalog.enabled": False,
            "services.orders.enabled": False,
            "services.wishlist.enabled": False,
            "services.notifications.enabled": False,
        },
        "services.auth.allowedCallers.catalog",
        False,
    ),
    # auth's signing keys are no agent file: auth reads and rotates them in Vault itself.
    # It reads the list of its service clients, never a client's own secret.
    (
        "auth-secrets",
        {},
        "services.auth.vaultSecrets",
        {
            "cassandra": "auth/cassandra",
            "first_admin": "auth/first-admin",
            "search_cursor": "",
            "unsubscribe": "",
            "vapid": "",
            "auth_client": "",
            "service": "auth/service-clients",
        },
    ),
    # Only catalog reads the search cursor key; the whole map replaces the chart's.
    (
        "catalog-secrets",
        {},
        "services.catalog.vaultSecrets",
        {
            "cassandra": "catalog/cassandra",
            "search_cursor": "catalog/search-cursor",
            "unsubscribe": "",
            "vapid": "",
            "auth_client": "",
            "service": "",
            "first_admin": "",
        },
    ),
    # Only notifications reads the unsubscribe and VAPID keys, and its client secret.
    (
        "notifications-secrets",
        {},
        "services.notifications.vaultSecrets",
        {
            "cassandra": "notifications/cassandra",
            "search_cursor": "",
            "unsubscribe": "notifications/unsubscribe",
            "vapid": "notifications/vapid",
            "auth_client": "notifications/auth-client",
            "service": "",
            "first_admin": "",
        },
    ),
    ("ingress-off-without-host", {}, "ingress.enabled", False),
    (
        "ingress-host-and-tls",
        {"gateway.host": "shop.example.com", "gateway.tlsSecretName": "shop-tls"},
        "ingress",
        {
            "enabled": True,
            "className": "nginx",
            "tlsSecretName": "shop-tls",
            "host": "shop.example.com",
        },
    ),
    ("gateway-off-by-default", {}, "gateway.enabled", False),
    (
        "gateway-node-port",
        {"gateway.enabled": True, "gateway.serviceType": "NodePort", "gateway.nodePort": 30080},
        "gateway.service",
        {"type": "NodePort", "nodePort": 30080},
    ),
    (
        "gateway-node-port-picked-by-kubernetes",
        {"gateway.enabled": True, "gateway.serviceType": "NodePort"},
        "gateway.service",
        {"type": "NodePort", "nodePort": 0},
    ),
    ("mtls-mode", {"istio.mtlsMode": "PERMISSIVE"}, "istio.mtlsMode", "PERMISSIVE"),
    ("istio-off", {"istio.enabled": False}, "istio.enabled", False),
    (
        "istio-global-traffic",
        {"istio.traffic.circuitBreaker.maxConnections": 64},
        "istio.traffic.connectionPool",
        {"maxConnections": 64, "http1MaxPendingRequests": 1024},
    ),
    (
        "istio-override-inherits-unset-fields",
        {"istio.services.catalog": {"timeout": "5s", "retries": {"attempts": 0}}},
        "services.catalog.istio",
        {
            "timeout": "5s",
            "retries": {
                "attempts": 0,
                "perTryTimeout": "3s",
                "retryOn": "connect-failure,refused-stream",
            },
            "connectionPool": {"maxConnections": 1024, "http1MaxPendingRequests": 1024},
            "outlierDetection": {
                "consecutive5xxErrors": 5,
                "interval": "10s",
                "baseEjectionTime": "30s",
            },
        },
    ),
    (
        "vault",
        {},
        "vault",
        {
            "enabled": True,
            # Every address and name comes from the operator's configured Vault.
            "address": "https://vault.vault.svc:8200",
            "rolePrefix": naming.vault_role_prefix("productstore", SHOP),
            "authPath": "auth/kubernetes",
            "secretPath": "secret/data/productstore/shop-ns/shop",
            "annotations": {"vault.hashicorp.com/service": "https://vault.vault.svc:8200"},
        },
    ),
    (
        "vault-named",
        {"vault.name": "eu"},
        "vault",
        {
            "enabled": True,
            "address": "https://vault.eu.example:8200",
            "rolePrefix": naming.vault_role_prefix("ps", SHOP),
            "authPath": "auth/k8s-east",
            "secretPath": "kv/data/stores/eu/shop-ns/shop",
            "annotations": {"vault.hashicorp.com/service": "https://vault.eu.example:8200"},
        },
    ),
    ("vault-injector-off", {"vault.injector.enabled": False}, "vault.enabled", False),
    (
        "first-admin",
        {"admin.email": "ops@shop.example"},
        "services.auth.env",
        {"AUTH_FIRST_ADMIN_EMAIL": "ops@shop.example"},
    ),
    (
        "scheduling-default",
        {},
        "serviceDefaults",
        {"nodeSelector": {}, "tolerations": []},
    ),
    (
        "scheduling",
        {
            "scheduling": {
                "nodeSelector": {"kubernetes.io/hostname": "n-1"},
                "tolerations": [
                    {"key": "dedicated", "value": "store", "effect": "NoSchedule"},
                    {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
                ],
            }
        },
        "serviceDefaults",
        {
            "nodeSelector": {"kubernetes.io/hostname": "n-1"},
            # Kubernetes' form, operator written out.
            "tolerations": [
                {"key": "dedicated", "operator": "Equal", "value": "store", "effect": "NoSchedule"},
                {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
            ],
        },
    ),
]


@pytest.mark.parametrize(
    ("changes", "path", "expected"),
    [case[1:] for case in EXPECTED],
    ids=[case[0] for case in EXPECTED],
)
def test_value(changes: dict[str, Any], path: str, expected: Any) -> None:
    assert at(build(spec(changes)), path) == expected


def test_service_without_istio_overrides_inherits_the_global_policy() -> None:
    values = build(spec({"istio.services.catalog": {"timeout": "5s"}}))
    assert "istio" in values["services"]["catalog"]
    assert "istio" not in values["services"]["auth"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"services.auth.enabled": False},
            "catalog calls auth, but services.auth.enabled is false",
        ),
    ],
    ids=["auth-off"],
)
def test_enabled_service_calling_a_disabled_one_is_refused(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidSpecError, match=message):
        build(spec(changes))


@pytest.mark.parametrize(("id_", "spec_", "store"), CASES, ids=CASE_IDS)
def test_same_input_gives_byte_identical_values(
    id_: str, spec_: ProductStoreSpec, store: StoreRef
) -> None:
    again = ProductStoreSpec.model_validate(spec_.model_dump(mode="json"))
    assert json.dumps(build(spec_, store)) == json.dumps(build(again, store))


# --- rendered by helm --------------------------------------------------------


@pytest.fixture(scope="module")
def offline_helm(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> HelmCli:
    return HelmCli(helm, tmp_path_factory.mktemp("helm-home"))


def _check_agent_files(agent_config: dict[str, Any], expected: set[str], policy: str) -> None:
    """The agent renders exactly these files, each from a path the policy lets it read."""
    files = {
        t["destination"].removeprefix("/vault/secrets/"): t["contents"]
        for t in agent_config["template"]
    }
    assert set(files) == expected
    for contents in files.values():
        [path] = re.findall(r'with secret "([^"]+)"', contents)
        assert f'path "{path}"' in policy
        # A provided entry's folder is listed first: the policy lists it, only.
        for folder in re.findall(r'range secrets "([^"]+)"', contents):
            assert f'path "{folder}" {{\n  capabilities = ["list"]' in policy


@pytest.mark.parametrize(("id_", "spec_", "store"), CASES, ids=CASE_IDS)
def test_helm_renders_what_the_spec_asks(
    id_: str, spec_: ProductStoreSpec, store: StoreRef, offline_helm: HelmCli, tmp_path: Path
) -> None:
    rendered = render(offline_helm, build(spec_, store), store, tmp_path)
    enabled = spec_.services.enabled()
    deployments = {name for kind, name in rendered if kind == "Deployment"}
    gateway = {f"{store.name}-gateway"} if spec_.gateway.enabled else set()
    assert deployments == {f"{store.name}-{service}" for service in enabled} | gateway
    if spec_.gateway.enabled:
        # The store's own gateway, its Service as the spec asks.
        service_spec = rendered["Service", f"{store.name}-gateway"]["spec"]
        assert service_spec["type"] == spec_.gateway.service_type
        assert service_spec["ports"][0].get("nodePort") == spec_.gateway.node_port
    vault = build_vault_config(spec_, store, SETTINGS)
    roles = {role.service_account: role.name for role in vault.roles}
    policies = {policy.name: policy.hcl for policy in vault.policies}

    for service in enabled:
        settings = spec_.services.get(service)
        name = f"{store.name}-{service}"
        deployment = rendered["Deployment", name]
        pod = deployment["spec"]["template"]
        container = pod["spec"]["containers"][0]
        account = pod["spec"]["serviceAccountName"]
        assert account == service_account_name(store, service)
        assert ("ServiceAccount", account) in rendered
        assert (
            container["image"] == f"{spec_.image.registry}/productstore-{service}:{spec_.version}"
        )
        assert ("cpu" in container["resources"]["limits"]) == (
            settings.resources.limits.cpu is not None
        )
        # Where the Pods may run: the store's scheduling, on every service.
        assert pod["spec"].get("nodeSelector", {}) == spec_.scheduling.node_selector
        assert pod["spec"].get("tolerations", []) == [
            t.model_dump(exclude_none=True) for t in spec_.scheduling.tolerations
        ]
        if settings.autoscaling.enabled:
            assert "replicas" not in deployment["spec"]
            assert ("HorizontalPodAutoscaler", name) in rendered
        else:
            assert deployment["spec"]["replicas"] == settings.replicas
        agent = rendered.get(("ConfigMap", f"{name}-vault-agent"))
        agent_config = json.loads(agent["data"]["agent.json"]) if agent else None
        if spec_.vault.injector.enabled:
            # The chart adds the agent; the role it logs in with is the one Vault binds
            # to the Pod's ServiceAccount, in the auth mount the operator configured.
            assert agent_config is not None
            [method] = agent_config["auto_auth"]["method"]
            assert method["config"]["role"] == roles[account]
            assert method["mount_path"] == f"auth/{vault.auth_mount}"
            assert [c["name"] for c in pod["spec"]["initContainers"]] == [
                "vault-agent-init",
                "vault-agent",
            ]
        else:
            assert agent_config is None
            assert "initContainers" not in pod["spec"]
        config = rendered["ConfigMap", name]["data"]
        # One keyspace per service: their migrations are numbered independently.
        assert config["CASSANDRA_KEYSPACE"] == f"{naming.keyspace(store)}_{service}"
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,47}", config["CASSANDRA_KEYSPACE"])
        prefix = service.upper()
        assert config[f"{prefix}_MIGRATE_ON_START"] == "true"
        assert config[f"{prefix}_CREATE_TOPICS"] == "true"
        assert json.loads(config[f"{prefix}_CASSANDRA_REPLICATION"]) == (
            spec_.cassandra.replication_options()
        )
        if agent_config is not None:
            # The search cursor key reaches catalog, and only catalog; the unsubscribe
            # and VAPID keys and its auth client secret notifications, and only
            # notifications; the list of service clients auth, and only auth; each
            # from the path the service's policy lets it read.
            own = {
                "catalog": {"search_cursor"},
                # With the third parties' credentials an administrator writes (ADR 0039).
                "notifications": {
                    "unsubscribe",
                    "vapid",
                    "auth_client",
                    "sms",
                    "chat_slack",
                    "chat_telegram",
                },
                "auth": {"service", "first_admin"},
            }
            _check_agent_files(
                agent_config, {"cassandra"} | own.get(service, set()), policies[roles[account]]
            )
        if service == "auth":
            # The first administrator: the e-mail beside the password the agent renders.
            assert config.get("AUTH_FIRST_ADMIN_EMAIL") == (
                spec_.admin.email if spec_.vault.injector.enabled else None
            )
            # auth logs in to the store's Vault as its role, injector or not ...
            assert config["AUTH_VAULT_ADDR"] == SETTINGS.vault.servers[spec_.vault.name].pod_address
            assert config["AUTH_VAULT_ROLE"] == roles[account]
            assert config["AUTH_VAULT_KUBERNETES_MOUNT"] == vault.auth_mount
            assert pod["spec"]["automountServiceAccountToken"] is True
            # ... and is told to keep its keys exactly where its policy lets it write.
            keys = f"{config['AUTH_VAULT_KV_MOUNT']}/data/{config['AUTH_VAULT_KEYS_PATH']}"
            assert keys == vault.data_path("auth/signing-keys")
            assert (
                f'path "{keys}" {{\n  capabilities = ["create", "read", "update"]\n}}\n'
                in policies[roles[account]]
            )
        else:
            assert not {key for key in config if key.startswith("AUTH_VAULT_")}
        if spec_.istio.enabled:
            policy = rendered["AuthorizationPolicy", name]["spec"]
            principals = policy["rules"][0]["from"][0]["source"]["principals"]
            outside = "cluster.local/ns/ingress-nginx/sa/ingress-nginx"
            expected = {
                f"cluster.local/ns/{store.namespace}/sa/{store.name}-{caller}"
                if caller != "gateway" or spec_.gateway.enabled
                else outside
                for caller in callers_of(service)
                if caller == "gateway" or caller in enabled
            }
            assert set(principals) == expected
            route = rendered["VirtualService", name]["spec"]["http"][0]
            assert route["timeout"] == spec_.istio.traffic_for(service).timeout
        else:
            assert ("AuthorizationPolicy", name) not in rendered


@pytest.mark.parametrize(("id_", "spec_", "store"), CASES, ids=CASE_IDS)
def test_helm_renders_the_stores_rules_and_service_monitors(
    id_: str, spec_: ProductStoreSpec, store: StoreRef, offline_helm: HelmCli, tmp_path: Path
) -> None:
    """Where the cluster has Prometheus Operator: the builder's rules, one monitor a service."""
    rendered = render(
        offline_helm, build(spec_, store), store, tmp_path,
        "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor",
        "--api-versions", "monitoring.coreos.com/v1/PrometheusRule",
    )  # fmt: skip
    rule = rendered["PrometheusRule", store.name]
    assert rule["spec"]["groups"] == build_rule_groups(spec_, store)
    monitors = {name: doc for (kind, name), doc in rendered.items() if kind == "ServiceMonitor"}
    assert set(monitors) == {f"{store.name}-{s}" for s in spec_.services.enabled()}
    for service in spec_.services.enabled():
        (endpoint,) = monitors[f"{store.name}-{service}"]["spec"]["endpoints"]
        # The series carry the labels the rules select on.
        assert {r["targetLabel"]: r["replacement"] for r in endpoint["relabelings"]} == {
            "store": store.name,
            "service": service,
        }


@pytest.mark.parametrize(("id_", "spec_", "store"), CASES, ids=CASE_IDS)
def test_helm_renders_the_stores_dashboards_for_the_grafana_sidecar(
    id_: str, spec_: ProductStoreSpec, store: StoreRef, offline_helm: HelmCli, tmp_path: Path
) -> None:
    """One ConfigMap a dashboard, labelled for the sidecar, holding the builder's JSON;
    plain ConfigMaps, so rendered without Prometheus Operator's CRDs too."""
    rendered = render(offline_helm, build(spec_, store), store, tmp_path)
    expected = build_dashboards(spec_, store)
    maps = {
        name: doc
        for (kind, name), doc in rendered.items()
        if kind == "ConfigMap" and name.startswith(f"{store.name}-dashboard-")
    }
    assert set(maps) == {f"{store.name}-dashboard-{f.removesuffix('.json')}" for f in expected}
    for file, model in expected.items():
        config_map = maps[f"{store.name}-dashboard-{file.removesuffix('.json')}"]
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert config_map["metadata"]["namespace"] == store.namespace
        assert json.loads(config_map["data"][file]) == model
