"""charts/productstore: lint, the apiserver's verdict on its output, schema errors, a real install.

Everything runs against devstack's kube-apiserver (v1.34, Istio CRDs installed)
with the pinned helm; kwok fakes the pods, so no image is ever pulled.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.components.helm import Helm
from devstack.components.kube import KubeApiserver
from devstack.components.prometheus import Prometheus
from tests.support.helm import HelmCli
from tests.support.kubectl import Kubectl

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "productstore"
FULL_VALUES = Path(__file__).parent / "values-full.yaml"
SERVICES = (
    "auth",
    "catalog",
    "orders",
    "inventory",
    "wishlist",
    "reviews",
    "notifications",
    "analytics",
    "recommendations",
)
# The services with code, which the chart enables by default.
BUILT = ("auth", "catalog", "orders", "inventory", "wishlist", "reviews", "notifications")
RELEASE = "shop"
PREFIX = f"{RELEASE}-productstore"
# The namespace label that makes the apiserver reject pods below "restricted";
# warn makes it also report templates (Deployments) that would be rejected.
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}
WAIT_TIMEOUT = 120.0

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def kubectl(kube: KubeApiserver) -> Kubectl:
    return Kubectl(kube)


@pytest.fixture(scope="module")
def helm_cli(helm: Helm, kube: KubeApiserver, tmp_path_factory: pytest.TempPathFactory) -> HelmCli:
    return HelmCli(helm, tmp_path_factory.mktemp("helm-home"), kube.kubeconfig)


@pytest.fixture(scope="module")
def offline_helm(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> HelmCli:
    """helm for lint/template: no cluster, so renders use helm's default capabilities."""
    return HelmCli(helm, tmp_path_factory.mktemp("helm-home-offline"))


def _create_namespace(kubectl: Kubectl, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": RESTRICTED},
    }
    kubectl.run("create", "--filename", "-", stdin=json.dumps(namespace))
    return name


@pytest.fixture(scope="module")
def dry_run_namespace(kubectl: Kubectl) -> Iterator[str]:
    name = _create_namespace(kubectl, "chart-dry-run")
    try:
        yield name
    finally:
        kubectl.run("delete", "namespace", name, "--wait=false", check=False)


def _values_args(values: Path | None) -> list[str]:
    return ["--values", str(values)] if values else []


def _render(cli: HelmCli, values: Path | None, namespace: str, *extra: str) -> list[Manifest]:
    out = cli.run(
        "template", RELEASE, str(CHART), "--namespace", namespace, *_values_args(values), *extra
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def _by_kind(docs: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _names(*services: str) -> set[str]:
    return {f"{PREFIX}-{s}" for s in services}


GATEWAY_VALUES = Path(__file__).parent / "values-gateway.yaml"
VALUES_FILES = [
    pytest.param(None, id="default"),
    pytest.param(FULL_VALUES, id="full"),
    pytest.param(GATEWAY_VALUES, id="gateway"),
]


@pytest.mark.parametrize("values", VALUES_FILES)
def test_lint_strict_is_clean(offline_helm: HelmCli, values: Path | None) -> None:
    lint = offline_helm.run("lint", "--strict", str(CHART), *_values_args(values))
    assert "1 chart(s) linted, 0 chart(s) failed" in lint.stdout
    assert "[WARNING]" not in lint.stdout
    assert "[ERROR]" not in lint.stdout


def _pod_from(deployment: Manifest) -> Manifest:
    """A bare Pod of a Deployment's template: Pod Security *enforces* on Pods only."""
    template = deployment["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{deployment['metadata']['name']}-pss",
            "labels": template["metadata"]["labels"],
            "annotations": template["metadata"].get("annotations", {}),
        },
        "spec": template["spec"],
    }


def _wait_for_default_service_account(kubectl: Kubectl, namespace: str) -> None:
    # The controller-manager creates it moments after the namespace.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = kubectl.run("get", "serviceaccount", "default", "-n", namespace, check=False)
        if got.returncode == 0:
            return
        time.sleep(0.5)
    pytest.fail(f"no default ServiceAccount in {namespace} after 30s")


EXPECTED_KINDS = {
    "default": {
        "ConfigMap": _names(*BUILT),
        "Deployment": _names(*BUILT),
        "PodDisruptionBudget": _names(*BUILT),
        "Service": _names(*BUILT),
        "ServiceAccount": _names(*BUILT),
    },
    "full": {
        "AuthorizationPolicy": _names(*SERVICES),
        # The services' configuration, the one dashboard the values carry, and the
        # Vault agent's configuration of each service with vaultSecrets.
        "ConfigMap": _names(*SERVICES)
        | {f"{PREFIX}-dashboard-overview"}
        | {f"{name}-vault-agent" for name in _names(*BUILT)},
        "Deployment": _names(*SERVICES),
        "DestinationRule": _names(*SERVICES),
        # auth overrides the autoscaling default back to false.
        "HorizontalPodAutoscaler": _names(*SERVICES) - _names("auth"),
        "Ingress": {PREFIX},
        "NetworkPolicy": _names(*SERVICES) | {f"{PREFIX}-default-deny-ingress"},
        "PeerAuthentication": {PREFIX},
        "PodDisruptionBudget": _names(*SERVICES),
        "Service": _names(*SERVICES),
        # recommendations runs as the namespace's default account.
        "ServiceAccount": _names(*SERVICES) - _names("recommendations"),
        "VirtualService": _names(*SERVICES),
    },
    # The store's own gateway in front of the default services, with their policies.
    "gateway": {
        "AuthorizationPolicy": _names(*BUILT),
        "ConfigMap": _names(*BUILT, "gateway"),
        "Deployment": _names(*BUILT, "gateway"),
        "DestinationRule": _names(*BUILT),
        "NetworkPolicy": _names(*BUILT, "gateway") | {f"{PREFIX}-default-deny-ingress"},
        "PeerAuthentication": {PREFIX, f"{PREFIX}-gateway"},
        "PodDisruptionBudget": _names(*BUILT, "gateway"),
        "Service": _names(*BUILT, "gateway"),
        "ServiceAccount": _names(*BUILT, "gateway"),
        "VirtualService": _names(*BUILT),
    },
}


@pytest.mark.parametrize("values", VALUES_FILES)
def test_rendering_is_accepted_by_the_apiserver(
    offline_helm: HelmCli,
    kubectl: Kubectl,
    dry_run_namespace: str,
    values: Path | None,
    request: pytest.FixtureRequest,
) -> None:
    docs = _render(offline_helm, values, dry_run_namespace)
    case = request.node.callspec.id
    kinds = {kind: set(_by_kind(docs, kind)) for kind in {d["kind"] for d in docs}}
    assert kinds == EXPECTED_KINDS[case]

    # Pods are admitted only if their ServiceAccount exists, so those are created for real
    # (in a throwaway namespace); everything else is a server-side dry run.
    accounts = [d for d in docs if d["kind"] == "ServiceAccount"]
    kubectl.run("apply", "-n", dry_run_namespace, "-f", "-", stdin=yaml.safe_dump_all(accounts))
    _wait_for_default_service_account(kubectl, dry_run_namespace)
    pods = [_pod_from(d) for d in docs if d["kind"] == "Deployment"]
    others = [d for d in docs if d["kind"] != "ServiceAccount"]

    result = kubectl.run(
        "apply", "--dry-run=server", "--validate=strict", "-n", dry_run_namespace, "-f", "-",
        stdin=yaml.safe_dump_all(others + pods), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # A Deployment's pod template that Pod Security would reject only warns.
    assert "Warning" not in result.stderr, result.stderr
    accepted = [line for line in result.stdout.splitlines() if line.endswith("(server dry run)")]
    assert len(accepted) == len(others) + len(pods), result.stdout


def test_pod_security_rejection_is_enforced(kubectl: Kubectl, dry_run_namespace: str) -> None:
    """The control for the test above: the namespace really rejects a non-restricted pod."""
    root_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "root"},
        "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1"}]},
    }
    _wait_for_default_service_account(kubectl, dry_run_namespace)
    result = kubectl.run(
        "apply", "--dry-run=server", "-n", dry_run_namespace, "-f", "-",
        stdin=json.dumps(root_pod), check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "violates PodSecurity" in result.stderr


def test_full_values_reach_the_manifests(offline_helm: HelmCli) -> None:
    docs = _render(offline_helm, FULL_VALUES, "shop")
    deployments = _by_kind(docs, "Deployment")

    auth = deployments[f"{PREFIX}-auth"]
    assert auth["spec"]["replicas"] == 3
    # The HPA owns the count of autoscaled services.
    assert "replicas" not in deployments[f"{PREFIX}-orders"]["spec"]
    hpa = _by_kind(docs, "HorizontalPodAutoscaler")[f"{PREFIX}-orders"]["spec"]
    assert hpa["metrics"][0]["resource"]["target"] == {
        "type": "Utilization",
        "averageUtilization": 60,
    }
    assert hpa["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 45}}
    container = auth["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/shop/productstore-auth:1.2.3"
    assert container["imagePullPolicy"] == "Always"

    config = _by_kind(docs, "ConfigMap")[f"{PREFIX}-auth"]["data"]
    assert config["CASSANDRA_CONTACT_POINTS"] == "cassandra-0.cassandra,cassandra-1.cassandra"
    assert config["CASSANDRA_PORT"] == "9142"
    assert config["CASSANDRA_LOCAL_DC"] == "eu-west-1"
    assert config["KAFKA_BOOTSTRAP_SERVERS"] == "kafka-0.kafka:9092,kafka-1.kafka:9092"
    assert config["REDIS_URL"] == "rediss://redis.cache:6380/1"
    assert config["OTEL_TRACES_SAMPLER_ARG"] == "0.25"
    assert config["AUTH_ACCESS_TOKEN_TTL_SECONDS"] == "900"
    assert config["CATALOG_SERVICE_URL"] == f"http://{PREFIX}-catalog.shop.svc:8000"
    # Every service verifies tokens with auth's keys (the catalog refuses to start without).
    assert config["JWT_JWKS_URL"] == (
        f"http://{PREFIX}-auth.shop.svc:8000/api/auth/.well-known/jwks.json"
    )
    assert config["SECRETS_DIR"] == "/vault/secrets"
    assert config["CASSANDRA_KEYSPACE"] == "shop_prod_auth"
    assert config["AUTH_CASSANDRA_REPLICATION"] == (
        '{"class": "NetworkTopologyStrategy", "eu-west-1": 3}'
    )
    assert config["AUTH_MIGRATE_ON_START"] == "false"
    assert config["AUTH_CREATE_TOPICS"] == "false"
    assert config["TRUSTED_PROXIES"] == "127.0.0.6"

    notifications = deployments[f"{PREFIX}-notifications"]["spec"]["template"]
    # The chart adds the agent (vault.injection's default): no injector annotation.
    assert not [a for a in notifications["metadata"]["annotations"] if "vault.hashicorp" in a]
    assert notifications["spec"]["automountServiceAccountToken"] is True
    init, sidecar = notifications["spec"]["initContainers"]
    assert (init["name"], sidecar["name"]) == ("vault-agent-init", "vault-agent")
    assert init["image"] == sidecar["image"] == "registry.example.com/shop/vault-agent:2.7.2"
    assert init["args"] == ["agent", "-config=/vault/config/agent.json", "-exit-after-auth"]
    assert sidecar["args"] == ["agent", "-config=/vault/config/agent.json"]
    assert "restartPolicy" not in init and sidecar["restartPolicy"] == "Always"
    assert sidecar["resources"] == {
        "requests": {"cpu": "5m", "memory": "24Mi"},
        "limits": {"memory": "48Mi"},
    }
    agent = json.loads(
        _by_kind(docs, "ConfigMap")[f"{PREFIX}-notifications-vault-agent"]["data"]["agent.json"]
    )
    assert agent["vault"] == {"address": "https://vault.vault.svc:8200"}
    assert agent["auto_auth"]["method"] == [
        {
            "type": "kubernetes",
            "mount_path": "auth/k8s-prod",
            "config": {"role": "shop-notifications"},
        }
    ]
    assert agent["template_config"]["static_secret_render_interval"] == "2m"
    # Each file is its KV entry's data as JSON, which the services' settings read.
    assert _agent_files(docs, "notifications") == {
        file: f'{{{{- with secret "kv/data/shop/notifications/{key}" -}}}}'
        "{{ .Data.data | toJSON }}{{- end -}}"
        for file, key in {
            "cassandra": "cassandra",
            "smtp": "smtp",
            "unsubscribe": "unsubscribe",
            "vapid": "vapid",
            "auth_client": "auth-client",
        }.items()
    } | {
        # Third parties' credentials an administrator writes (ADR 0039): the folder is
        # listed first, so a missing entry is an empty file, not an agent that waits.
        file: f'{{{{- range secrets "kv/metadata/shop/notifications/provided/" -}}}}'
        f'{{{{- if eq . "{name}" -}}}}'
        f'{{{{- with secret "kv/data/shop/notifications/provided/{name}" -}}}}'
        "{{ .Data.data | toJSON }}{{- end -}}{{- end -}}{{- end -}}"
        for file, name in {"sms": "sms", "chat_slack": "slack", "chat_telegram": "telegram"}.items()
    }

    policies = _by_kind(docs, "AuthorizationPolicy")
    catalog_rules = policies[f"{PREFIX}-catalog"]["spec"]["rules"]
    assert set(catalog_rules[0]["from"][0]["source"]["principals"]) == {
        "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
        f"cluster.local/ns/shop/sa/{PREFIX}-orders",
        f"cluster.local/ns/shop/sa/{PREFIX}-wishlist",
        # Product names in wishlist notices and stock alerts (ADR 0034).
        f"cluster.local/ns/shop/sa/{PREFIX}-notifications",
        "cluster.local/ns/shop/sa/default",
    }
    # analytics allows no caller: only monitoring's GET /metrics is left.
    (analytics_rule,) = policies[f"{PREFIX}-analytics"]["spec"]["rules"]
    assert analytics_rule["to"][0]["operation"]["paths"] == ["/metrics"]
    (analytics_ingress,) = _by_kind(docs, "NetworkPolicy")[f"{PREFIX}-analytics"]["spec"]["ingress"]
    assert analytics_ingress["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]

    catalog_route = _by_kind(docs, "VirtualService")[f"{PREFIX}-catalog"]["spec"]["http"][0]
    assert catalog_route["timeout"] == "2s"
    assert catalog_route["retries"] == {
        "attempts": 1,
        "perTryTimeout": "3s",
        "retryOn": "connect-failure,refused-stream",
    }
    pdb = _by_kind(docs, "PodDisruptionBudget")
    assert pdb[f"{PREFIX}-orders"]["spec"]["minAvailable"] == "50%"
    assert pdb[f"{PREFIX}-catalog"]["spec"]["minAvailable"] == 2


BAD_VALUES = [
    pytest.param(
        ["--set", "services.auth.replicas=two"],
        ["/services/auth/replicas", "got string, want integer"],
        id="wrong-type",
    ),
    pytest.param(
        ["--set-string", "services.catalog.port=8000"],
        ["/services/catalog/port", "got string, want integer"],
        id="port-as-string",
    ),
    pytest.param(
        ["--set", "services.shop.enabled=true"],
        ["/services", "additional properties 'shop' not allowed"],
        id="unknown-service",
    ),
    pytest.param(
        ["--set", "services.auth.replica=3"],
        ["/services/auth", "additional properties 'replica' not allowed"],
        id="misspelt-key",
    ),
    pytest.param(
        ["--set", "services.catalog.allowedCallers.everyone=true"],
        ["/services/catalog/allowedCallers", "'everyone' not allowed"],
        id="unknown-caller",
    ),
    # Bounds generated from the ProductStore models: the chart accepts what the CRD does.
    pytest.param(
        ["--set", "services.auth.replicas=0"],
        ["/services/auth/replicas", "minimum: got 0, want 1"],
        id="zero-replicas",
    ),
    pytest.param(
        ["--set", "serviceDefaults.autoscaling.maxReplicas=1001"],
        ["/serviceDefaults/autoscaling/maxReplicas", "maximum: got 1,001, want 1,000"],
        id="max-replicas-above-the-crd-bound",
    ),
    pytest.param(
        ["--set", "istio.traffic.retries.attempts=11"],
        ["/istio/traffic/retries/attempts", "maximum: got 11, want 10"],
        id="retry-attempts-above-the-crd-bound",
    ),
    pytest.param(
        ["--set", "istio.traffic.retries.perTryTimeout=3 seconds"],
        ["/istio/traffic/retries/perTryTimeout", "does not match pattern"],
        id="per-try-timeout-not-a-duration",
    ),
    pytest.param(
        ["--set", "global.image.pullPolicy=Sometimes"],
        ["/global/image/pullPolicy", "value must be one of 'Always', 'IfNotPresent', 'Never'"],
        id="bad-pull-policy",
    ),
    pytest.param(
        ["--set", "istio.mtlsMode=strict"],
        ["/istio/mtlsMode", "value must be one of 'STRICT'"],
        id="bad-mtls-mode",
    ),
    pytest.param(
        ["--set-json", "config.tracing.sampleRatio=1.5"],
        ["/config/tracing/sampleRatio", "maximum: got 1.5, want 1"],
        id="ratio-above-one",
    ),
    pytest.param(
        # --set passes decimals as strings; the schema takes those, in range.
        ["--set", "config.tracing.sampleRatio=1.5"],
        ["/config/tracing/sampleRatio", "'1.5' does not match pattern"],
        id="ratio-above-one-from-set",
    ),
    pytest.param(
        ["--set", "config.redis.url=localhost:6379"],
        ["/config/redis/url", "does not match pattern"],
        id="redis-url-without-scheme",
    ),
    pytest.param(
        ["--set", "config.trustedProxies=the-gateway"],
        ["/config/trustedProxies", "does not match pattern"],
        id="trusted-proxy-not-an-address",
    ),
    pytest.param(
        ["--set", "vault.injection=webhook"],
        ["/vault/injection", "value must be one of 'agent', 'annotations'"],
        id="vault-injection-unknown",
    ),
    pytest.param(
        # The agent needs to know where to log in; an injector has its own default.
        ["--set", "vault.enabled=true"],
        ['vault.injection is "agent" but vault.address is empty'],
        id="vault-agent-without-address",
    ),
    pytest.param(
        ["--set", "vault.agentRenderInterval=often"],
        ["/vault/agentRenderInterval", "does not match pattern"],
        id="vault-agent-interval-not-a-duration",
    ),
    pytest.param(
        ["--set", "vault.address=vault.vault.svc:8200"],
        ["/vault/address", "does not match pattern"],
        id="vault-address-without-scheme",
    ),
    pytest.param(
        # auth's keys path is derived from it, so it must be a KV v2 data path.
        ["--set", "vault.secretPath=secret/productstore"],
        ["/vault/secretPath", "does not match pattern"],
        id="vault-secret-path-not-kv-v2",
    ),
    pytest.param(
        ["--set", "config.migrations.onStart=yes"],
        ["/config/migrations/onStart", "got string, want boolean"],
        id="migrations-on-start-not-boolean",
    ),
    pytest.param(
        ["--set", "config.kafka.createTopics=null"],
        ["/config/kafka", "missing property 'createTopics'"],
        id="create-topics-removed",
    ),
    pytest.param(
        ["--set", "config.cassandra.replication=SimpleStrategy"],
        ["/config/cassandra/replication", "does not match pattern"],
        id="replication-not-json",
    ),
    pytest.param(
        # The chart appends "_<service>"; Cassandra's limit is 48 characters.
        ["--set", f"config.cassandra.keyspace={'k' * 33}"],
        ["/config/cassandra/keyspace", "does not match pattern"],
        id="keyspace-too-long-for-service-suffix",
    ),
    pytest.param(
        ["--set", "serviceDefaults.resources.limits.memory=lots"],
        ["/serviceDefaults/resources/limits/memory", "does not match pattern"],
        id="bad-quantity",
    ),
    pytest.param(
        [
            "--set",
            "services.auth.autoscaling.enabled=true,services.auth.autoscaling.minReplicas=5"
            ",services.auth.autoscaling.maxReplicas=3",
        ],
        ["services.auth.autoscaling: minReplicas (5) must not exceed maxReplicas (3)"],
        id="min-above-max",
    ),
    pytest.param(
        # null removes the chart's default, which leaves the CPU target without a base.
        [
            "--set",
            "serviceDefaults.autoscaling.enabled=true,serviceDefaults.resources.requests.cpu=null",
        ],
        ["services.auth.autoscaling is enabled but services.auth.resources.requests.cpu is unset"],
        id="autoscaling-without-cpu-request",
    ),
]


@pytest.mark.parametrize(("args", "messages"), BAD_VALUES)
def test_bad_values_fail_naming_the_field(
    offline_helm: HelmCli, args: list[str], messages: list[str]
) -> None:
    result = offline_helm.run("template", RELEASE, str(CHART), *args, check=False)
    assert result.returncode != 0, f"accepted: {args}"
    assert result.stdout == ""
    for message in messages:
        assert message in result.stderr


def test_the_agent_shares_only_an_in_memory_volume_with_the_service(
    offline_helm: HelmCli,
) -> None:
    docs = _render(offline_helm, FULL_VALUES, "shop")
    pod = _by_kind(docs, "Deployment")[f"{PREFIX}-catalog"]["spec"]["template"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["vault-secrets"]["emptyDir"]["medium"] == "Memory"
    assert volumes["vault-agent-config"]["configMap"]["name"] == f"{PREFIX}-catalog-vault-agent"
    [service] = pod["spec"]["containers"]
    assert {"name": "vault-secrets", "mountPath": "/vault/secrets", "readOnly": True} in (
        service["volumeMounts"]
    )
    for agent in pod["spec"]["initContainers"]:
        assert agent["securityContext"]["runAsNonRoot"] is True
        assert agent["securityContext"]["readOnlyRootFilesystem"] is True
        assert {m["name"] for m in agent["volumeMounts"]} == {"vault-secrets", "vault-agent-config"}
        # Nothing secret reaches the environment.
        assert "env" not in agent and "envFrom" not in agent
    # A changed agent configuration rolls the pods.
    assert "checksum/vault-agent" in pod["metadata"]["annotations"]
    # recommendations reads no secret: no agent, no volume, no ConfigMap.
    bare = _by_kind(docs, "Deployment")[f"{PREFIX}-recommendations"]["spec"]["template"]["spec"]
    assert "initContainers" not in bare
    assert "vault-secrets" not in {v["name"] for v in bare["volumes"]}


def test_annotations_injection_leaves_the_agent_to_an_injector(offline_helm: HelmCli) -> None:
    docs = _render(offline_helm, FULL_VALUES, "shop", "--set", "vault.injection=annotations")
    assert not [n for n in _by_kind(docs, "ConfigMap") if n.endswith("-vault-agent")]
    notifications = _by_kind(docs, "Deployment")[f"{PREFIX}-notifications"]["spec"]["template"]
    assert "initContainers" not in notifications["spec"]
    annotations = notifications["metadata"]["annotations"]
    assert annotations["vault.hashicorp.com/agent-inject"] == "true"
    assert annotations["vault.hashicorp.com/role"] == "shop-notifications"
    assert annotations["vault.hashicorp.com/agent-limits-cpu"] == "250m"
    assert annotations["vault.hashicorp.com/agent-inject-secret-smtp"] == (
        "kv/data/shop/notifications/smtp"
    )
    assert annotations["vault.hashicorp.com/agent-inject-template-cassandra"] == (
        '{{- with secret "kv/data/shop/notifications/cassandra" -}}'
        "{{ .Data.data | toJSON }}{{- end -}}"
    )
    assert notifications["spec"]["automountServiceAccountToken"] is True


def test_auth_keeps_its_signing_keys_in_vault_when_an_address_is_set(
    offline_helm: HelmCli,
) -> None:
    # The injector is off by default: auth talks to Vault itself, with or without it.
    docs = _render(offline_helm, FULL_VALUES, "shop", "--set", "vault.enabled=false")
    configs = _by_kind(docs, "ConfigMap")
    assert {
        key: value
        for key, value in configs[f"{PREFIX}-auth"]["data"].items()
        if key.startswith("AUTH_VAULT_")
    } == {
        "AUTH_VAULT_ADDR": "https://vault.vault.svc:8200",
        "AUTH_VAULT_ROLE": "shop-auth",
        "AUTH_VAULT_KUBERNETES_MOUNT": "k8s-prod",
        "AUTH_VAULT_KV_MOUNT": "kv",
        "AUTH_VAULT_KEYS_PATH": "shop/auth/signing-keys",
    }
    assert not [k for k in configs[f"{PREFIX}-catalog"]["data"] if k.startswith("AUTH_VAULT_")]
    pods = {
        name: deployment["spec"]["template"]["spec"]
        for name, deployment in _by_kind(docs, "Deployment").items()
    }
    # auth logs in with its ServiceAccount token; the others need none.
    assert pods[f"{PREFIX}-auth"]["automountServiceAccountToken"] is True
    assert pods[f"{PREFIX}-catalog"]["automountServiceAccountToken"] is False
    # Its keys are no agent file: auth reads and rotates them through the API.
    annotations = _by_kind(docs, "Deployment")[f"{PREFIX}-auth"]["spec"]["template"]["metadata"]
    assert not [a for a in annotations.get("annotations", {}) if a.endswith("-jwt")]

    # Without an address (the chart's default) auth's environment says nothing of Vault.
    default = _by_kind(_render(offline_helm, None, "shop"), "ConfigMap")[f"{PREFIX}-auth"]
    assert not [k for k in default["data"] if k.startswith("AUTH_VAULT_")]


def test_default_pods_migrate_create_topics_and_get_their_own_keyspace(
    offline_helm: HelmCli,
) -> None:
    # The pods run in production mode, where a service neither migrates nor creates
    # topics unless told: plain `helm install` tells them to.
    configs = _by_kind(_render(offline_helm, None, "shop"), "ConfigMap")
    for service in ("auth", "catalog"):
        data = configs[f"{PREFIX}-{service}"]["data"]
        prefix = service.upper()
        assert data[f"{prefix}_MIGRATE_ON_START"] == "true"
        assert data[f"{prefix}_CREATE_TOPICS"] == "true"
        assert json.loads(data[f"{prefix}_CASSANDRA_REPLICATION"]) == {
            "class": "SimpleStrategy",
            "replication_factor": 1,
        }
        # Migrations are numbered per service: one keyspace each, one history each.
        assert data["CASSANDRA_KEYSPACE"] == f"productstore_{service}"
        # No gateway is assumed: nobody's X-Client-Address is believed until set.
        assert data["TRUSTED_PROXIES"] == ""


def _agent_files(docs: list[Manifest], service: str) -> dict[str, str]:
    """File name to template of one service's Vault agent configuration."""
    config = _by_kind(docs, "ConfigMap")[f"{PREFIX}-{service}-vault-agent"]["data"]["agent.json"]
    return {
        t["destination"].removeprefix("/vault/secrets/"): t["contents"]
        for t in json.loads(config)["template"]
    }


WITH_VAULT = ("--set", "vault.enabled=true", "--set", "vault.address=http://vault.vault.svc:8200")


@pytest.mark.parametrize("injection", ["agent", "annotations"])
def test_catalog_alone_gets_the_search_cursor_key(offline_helm: HelmCli, injection: str) -> None:
    docs = _render(offline_helm, None, "shop", *WITH_VAULT, "--set", f"vault.injection={injection}")
    path = "secret/data/productstore/catalog/search-cursor"
    # Rendered as the KV entry's JSON, {"key": ...}: CatalogSettings.search_cursor_key.
    template = f'{{{{- with secret "{path}" -}}}}{{{{ .Data.data | toJSON }}}}{{{{- end -}}}}'
    if injection == "agent":
        assert _agent_files(docs, "catalog")["search_cursor"] == template
        assert "search_cursor" not in _agent_files(docs, "auth")
        return
    pods = {
        name: deployment["spec"]["template"]["metadata"]["annotations"]
        for name, deployment in _by_kind(docs, "Deployment").items()
    }
    catalog = pods[f"{PREFIX}-catalog"]
    assert catalog["vault.hashicorp.com/agent-inject-secret-search_cursor"] == path
    assert catalog["vault.hashicorp.com/agent-inject-template-search_cursor"] == template
    assert "vault.hashicorp.com/agent-inject-secret-search_cursor" not in pods[f"{PREFIX}-auth"]


def test_notifications_alone_gets_the_unsubscribe_key(offline_helm: HelmCli) -> None:
    docs = _render(offline_helm, None, "shop", *WITH_VAULT)
    path = "secret/data/productstore/notifications/unsubscribe"
    # Rendered as {"key": ...}: NotificationsSettings.unsubscribe_key.
    assert _agent_files(docs, "notifications")["unsubscribe"] == (
        f'{{{{- with secret "{path}" -}}}}{{{{ .Data.data | toJSON }}}}{{{{- end -}}}}'
    )
    for other in ("auth", "catalog", "orders"):
        assert "unsubscribe" not in _agent_files(docs, other)


@pytest.mark.parametrize("injection", ["agent", "annotations"])
def test_provided_credentials_render_empty_while_missing(
    offline_helm: HelmCli, injection: str
) -> None:
    """ADR 0039: notifications' third parties' credentials, listed before read (a
    missing entry is an empty file, not an agent waiting for it), nobody else's."""
    docs = _render(offline_helm, None, "shop", *WITH_VAULT, "--set", f"vault.injection={injection}")
    template = (
        '{{- range secrets "secret/metadata/productstore/notifications/provided/" -}}'
        '{{- if eq . "sms" -}}'
        '{{- with secret "secret/data/productstore/notifications/provided/sms" -}}'
        "{{ .Data.data | toJSON }}{{- end -}}{{- end -}}{{- end -}}"
    )
    if injection == "agent":
        assert _agent_files(docs, "notifications")["sms"] == template
        assert "sms" not in _agent_files(docs, "catalog")
        return
    pods = {
        name: deployment["spec"]["template"]["metadata"]["annotations"]
        for name, deployment in _by_kind(docs, "Deployment").items()
    }
    notifications = pods[f"{PREFIX}-notifications"]
    assert notifications["vault.hashicorp.com/agent-inject-template-sms"] == template
    assert "vault.hashicorp.com/agent-inject-template-chat_slack" in notifications
    assert "vault.hashicorp.com/agent-inject-template-sms" not in pods[f"{PREFIX}-catalog"]


def test_decimal_from_set_is_accepted(offline_helm: HelmCli) -> None:
    docs = _render(offline_helm, None, "shop", "--set", "config.tracing.sampleRatio=0.5")
    config = _by_kind(docs, "ConfigMap")[f"{PREFIX}-catalog"]["data"]
    assert config["OTEL_TRACES_SAMPLER_ARG"] == "0.5"


@pytest.fixture
def install_namespace(kubectl: Kubectl) -> Iterator[Callable[[], str]]:
    created: list[str] = []

    def create() -> str:
        created.append(_create_namespace(kubectl, "chart-install"))
        return created[-1]

    yield create
    for name in created:
        kubectl.run("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


def test_install_becomes_available_then_uninstalls(
    helm_cli: HelmCli, kubectl: Kubectl, install_namespace: Callable[[], str]
) -> None:
    namespace = install_namespace()
    in_ns = ("--namespace", namespace)
    try:
        install = helm_cli.run(
            "install", RELEASE, str(CHART), *in_ns, "--wait", "--timeout", f"{WAIT_TIMEOUT:.0f}s"
        )
        assert f"port-forward service/{PREFIX}-catalog" in install.stdout

        # --wait returned once every Deployment was Available; check it independently.
        deployments = kubectl.json("get", "deployments", *in_ns)["items"]
        status = {
            d["metadata"]["name"]: (d["status"].get("availableReplicas"), d["spec"]["replicas"])
            for d in deployments
        }
        assert status == {
            f"{PREFIX}-auth": (2, 2),
            f"{PREFIX}-catalog": (2, 2),
            f"{PREFIX}-orders": (2, 2),
            f"{PREFIX}-inventory": (2, 2),
            f"{PREFIX}-wishlist": (2, 2),
            f"{PREFIX}-reviews": (2, 2),
            f"{PREFIX}-notifications": (2, 2),
        }
        pods = kubectl.json(
            "get", "pods", *in_ns, "--selector", f"app.kubernetes.io/instance={RELEASE}"
        )
        assert len(pods["items"]) == 2 * len(status)
        for pod in pods["items"]:
            assert pod["status"]["phase"] == "Running"
            assert pod["spec"]["securityContext"]["runAsNonRoot"] is True

        releases = helm_cli.json("list", *in_ns)
        assert [(r["name"], r["status"]) for r in releases] == [(RELEASE, "deployed")]

        helm_cli.run("uninstall", RELEASE, *in_ns, "--wait", "--timeout", f"{WAIT_TIMEOUT:.0f}s")
        assert helm_cli.json("list", *in_ns, "--all") == []
        assert kubectl.gone("deployments,services,configmaps,serviceaccounts,pdb", *in_ns,
                            "--selector", f"app.kubernetes.io/instance={RELEASE}")  # fmt: skip

        kubectl.run("delete", "namespace", namespace, "--wait=false")
        assert kubectl.gone("namespace", namespace), f"{namespace} not deleted"
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            helm_cli.run("uninstall", RELEASE, *in_ns, "--ignore-not-found", check=False)


# --- Prometheus Operator's objects -------------------------------------------

MONITORING_APIS = (
    "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor",
    "--api-versions", "monitoring.coreos.com/v1/PrometheusRule",
    "--api-versions", "monitoring.coreos.com/v1alpha1/AlertmanagerConfig",
)  # fmt: skip


def test_monitoring_objects_only_where_prometheus_operator_is(offline_helm: HelmCli) -> None:
    # helm's default capabilities lack monitoring.coreos.com: nothing to install that would fail.
    assert not {d["kind"] for d in _render(offline_helm, FULL_VALUES, "shop")} & {
        "ServiceMonitor",
        "PrometheusRule",
        "AlertmanagerConfig",
    }
    docs = _render(offline_helm, FULL_VALUES, "shop", *MONITORING_APIS)
    assert set(_by_kind(docs, "ServiceMonitor")) == _names(*SERVICES)
    assert set(_by_kind(docs, "PrometheusRule")) == {PREFIX}
    assert set(_by_kind(docs, "AlertmanagerConfig")) == {PREFIX}
    # No groups and no receivers (helm without the operator): no empty PrometheusRule
    # or AlertmanagerConfig.
    docs = _render(offline_helm, None, "shop", *MONITORING_APIS)
    assert set(_by_kind(docs, "ServiceMonitor")) == _names(*BUILT)
    assert not _by_kind(docs, "PrometheusRule")
    assert not _by_kind(docs, "AlertmanagerConfig")


def test_alertmanager_config_carries_the_spec_and_alertmanagers_templates(
    offline_helm: HelmCli,
) -> None:
    docs = _render(offline_helm, FULL_VALUES, "shop", *MONITORING_APIS)
    config = _by_kind(docs, "AlertmanagerConfig")[PREFIX]
    assert config["apiVersion"] == "monitoring.coreos.com/v1alpha1"
    assert config["metadata"]["namespace"] == "shop"
    assert config["metadata"]["labels"]["alertmanagerConfig"] == "productstore"
    values = yaml.safe_load(FULL_VALUES.read_text())
    assert config["spec"] == values["monitoring"]["alertmanagerConfig"]["spec"]
    # Alertmanager's own templating survives helm's.
    (telegram,) = config["spec"]["receivers"][1]["telegramConfigs"]
    assert telegram["message"] == "{{ .Status | toUpper }} {{ .CommonLabels.service }}"


def test_monitoring_objects_are_accepted_by_the_apiserver(
    offline_helm: HelmCli,
    kubectl: Kubectl,
    dry_run_namespace: str,
    prometheus: Prometheus,
    tmp_path: Path,
) -> None:
    """Checked against the Prometheus Operator CRDs devstack installs, and promtool."""
    docs = _render(offline_helm, FULL_VALUES, dry_run_namespace, *MONITORING_APIS)
    monitoring = [d for d in docs if d["kind"] in ("ServiceMonitor", "PrometheusRule")]
    result = kubectl.run(
        "apply", "--dry-run=server", "--validate=strict", "-n", dry_run_namespace, "-f", "-",
        stdin=yaml.safe_dump_all(monitoring), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("(server dry run)") == len(monitoring) == len(SERVICES) + 1

    monitor = _by_kind(docs, "ServiceMonitor")[f"{PREFIX}-catalog"]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "catalog"
    (endpoint,) = monitor["spec"]["endpoints"]
    # The labels the store's rules select on.
    assert {r["targetLabel"]: r["replacement"] for r in endpoint["relabelings"]} == {
        "store": PREFIX,
        "service": "catalog",
    }
    assert endpoint["interval"] == "15s"

    rule = _by_kind(docs, "PrometheusRule")[PREFIX]
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    promtool = subprocess.run(
        [str(prometheus.promtool), "check", "rules", str(rules_file)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
    # Prometheus's own templating survives helm's.
    alert = rule["spec"]["groups"][0]["rules"][1]
    assert alert["annotations"]["summary"] == "{{ $labels.service }} cannot be scraped"
