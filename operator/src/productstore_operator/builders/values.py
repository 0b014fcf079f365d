"""Helm values of charts/productstore for one ProductStore.

The chart renders Deployments, HPAs, PDBs, NetworkPolicies and the Istio
objects from these values, so this module is where the spec meets them: it
builds no Kubernetes object itself. Maps the chart merges with its defaults
(allowedCallers, vaultSecrets) are written whole, so a default never leaks in.
"""

from __future__ import annotations

import json
from typing import Any

from productstore_operator.builders.alerting import build_alertmanager_config
from productstore_operator.builders.dashboards import dashboard_files
from productstore_operator.builders.errors import InvalidSpecError
from productstore_operator.builders.naming import (
    StoreRef,
    cassandra_service_host,
    keyspace,
    service_account_name,
    vault_role_prefix,
)
from productstore_operator.builders.rules import build_rule_groups
from productstore_operator.builders.settings import OperatorSettings
from productstore_operator.builders.vault import (
    build_vault_config,
    provided_files,
    secret_files,
    vault_target,
)
from productstore_operator.callgraph import allowed_callers, unmet_calls
from productstore_operator.models import (
    SERVICE_NAMES,
    ProductStoreSpec,
    ServiceSpec,
    TrafficPolicy,
)

# The chart's image names: <registry>/productstore-<service>:<version>.
IMAGE_PREFIX = "productstore-"
CQL_PORT = 9042


def build_release_values(
    spec: ProductStoreSpec, store: StoreRef, settings: OperatorSettings
) -> dict[str, Any]:
    """Values for ``helm upgrade --install <store> charts/productstore``.

    Raises InvalidSpecError for a spec the schema accepts but the store cannot
    run (an enabled service that calls a disabled one).
    """
    enabled = spec.services.enabled()
    problems = unmet_calls(enabled)
    if problems:
        raise InvalidSpecError("; ".join(problems))
    return {
        # Fixes every resource name to "<store>-<service>", the names naming.py gives.
        "fullnameOverride": store.name,
        "global": _global(spec),
        "serviceDefaults": _scheduling(spec),
        "config": _config(spec, store, settings),
        "services": {
            name: _service(spec, name, spec.services.get(name), enabled, store)
            for name in SERVICE_NAMES
        },
        "gateway": {
            **_gateway(spec),
            "namespace": settings.gateway.namespace,
            "serviceAccount": settings.gateway.service_account,
            "podLabels": dict(settings.gateway.pod_labels),
        },
        "ingress": _ingress(spec, settings),
        "monitoring": {
            "namespace": settings.monitoring_namespace or "",
            "scrapeAnnotations": True,
            # The chart renders both only where the cluster has Prometheus Operator's CRDs.
            "serviceMonitor": {"enabled": True},
            "prometheusRule": {
                "enabled": True,
                "groups": build_rule_groups(
                    spec, store, runbook_base_url=settings.runbook_base_url
                ),
            },
            # ConfigMaps for the Grafana sidecar; they need no CRD.
            "dashboards": {"enabled": True, "files": dashboard_files(spec, store)},
            # Empty without receivers: the chart then renders no AlertmanagerConfig.
            "alertmanagerConfig": {
                "enabled": True,
                "spec": build_alertmanager_config(spec, store, settings.alerting) or {},
            },
        },
        "networkPolicy": {"enabled": settings.network_policy},
        "vault": _vault(spec, store, settings),
        "istio": {
            "enabled": spec.istio.enabled,
            "mtlsMode": spec.istio.mtls_mode,
            "trustDomain": settings.trust_domain,
            "traffic": traffic_values(spec.istio.traffic),
        },
    }


def _global(spec: ProductStoreSpec) -> dict[str, Any]:
    return {
        "image": {
            "registry": spec.image.registry,
            "tag": spec.version,
            "pullPolicy": spec.image.pull_policy,
        },
        "imagePullSecrets": list(spec.image.pull_secrets),
    }


def _scheduling(spec: ProductStoreSpec) -> dict[str, Any]:
    """Every service's nodeSelector and tolerations (the chart's serviceDefaults)."""
    scheduling = spec.scheduling
    return {
        "nodeSelector": dict(scheduling.node_selector),
        "tolerations": [
            toleration.model_dump(exclude_none=True) for toleration in scheduling.tolerations
        ],
    }


def _config(spec: ProductStoreSpec, store: StoreRef, settings: OperatorSettings) -> dict[str, Any]:
    cassandra = spec.cassandra
    if cassandra.external is not None:
        external = cassandra.external
        cassandra_values: dict[str, Any] = {
            "contactPoints": ",".join(external.contact_points),
            "port": external.port,
            "localDatacenter": external.local_datacenter,
        }
    else:
        datacenter = cassandra.k8ssandra.datacenter.name
        cassandra_values = {
            "contactPoints": cassandra_service_host(store, datacenter, settings.cluster_domain),
            "port": CQL_PORT,
            "localDatacenter": datacenter,
        }
    cassandra_values["keyspace"] = keyspace(store)
    # The services create their keyspaces (<keyspace>_<service>) when they migrate.
    cassandra_values["replication"] = json.dumps(cassandra.replication_options())
    # mode external is the only one (docs/adr/0036): both addresses are the user's.
    kafka = ",".join(spec.kafka.bootstrap_servers)
    redis = spec.redis.url
    tracing: dict[str, Any] = {
        "enabled": spec.tracing.endpoint is not None,
        "sampleRatio": spec.tracing.sample_ratio,
    }
    # Without an endpoint the chart's default stays, unused: export is off.
    if spec.tracing.endpoint is not None:
        tracing["endpoint"] = spec.tracing.endpoint
    return {
        "cassandra": cassandra_values,
        # Every pod applies its pending migrations (under an LWT lock) and creates
        # its topics at start-up: production mode does neither unless told.
        "kafka": {"bootstrapServers": kafka, "createTopics": True},
        "migrations": {"onStart": True},
        "redis": {"url": redis},
        "tracing": tracing,
        "logLevel": settings.log_level,
    }


def service_settings(service: ServiceSpec) -> dict[str, Any]:
    """The chart's replicas, resources, autoscaling, pdb and rollout of one service.

    The chart's serviceDefaults are these for a default ServiceSpec
    (productstore_operator.chart_values writes them into values.yaml).
    """
    autoscaling = service.autoscaling
    return {
        "replicas": service.replicas,
        "resources": _resources(service),
        "autoscaling": {
            "enabled": autoscaling.enabled,
            "minReplicas": autoscaling.min_replicas,
            "maxReplicas": autoscaling.max_replicas,
            "targetCPUUtilizationPercentage": autoscaling.target_cpu_utilization_percentage,
            "scaleDownStabilizationWindowSeconds": (
                autoscaling.scale_down_stabilization_window_seconds
            ),
        },
        "pdb": _pdb(service),
        "rollout": {"progressDeadlineSeconds": service.rollout.progress_deadline_seconds},
    }


def _resources(service: ServiceSpec) -> dict[str, Any]:
    resources = service.resources
    limits: dict[str, str] = {"memory": resources.limits.memory}
    if resources.limits.cpu is not None:
        limits["cpu"] = resources.limits.cpu
    return {
        "requests": {"cpu": resources.requests.cpu, "memory": resources.requests.memory},
        "limits": limits,
    }


def _pdb(service: ServiceSpec) -> dict[str, Any]:
    # Keep all but one Pod of the guaranteed minimum through voluntary
    # disruptions; a single-Pod service gets no budget, which would block drains.
    fewest = service.autoscaling.min_replicas if service.autoscaling.enabled else service.replicas
    return {"enabled": fewest > 1, "minAvailable": max(fewest - 1, 1)}


def _service(
    spec: ProductStoreSpec, name: str, service: ServiceSpec, enabled: list[str], store: StoreRef
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "enabled": service.enabled,
        "image": {"name": f"{IMAGE_PREFIX}{name}"},
        **service_settings(service),
        "serviceAccount": {"create": True, "name": service_account_name(store, name)},
        "allowedCallers": allowed_callers(name, enabled),
        "vaultSecrets": secret_files(name),
        "vaultProvided": provided_files(name),
    }
    if name == "auth" and spec.vault.injector.enabled:
        # With the agent, auth's Pods get the first administrator's password
        # (/vault/secrets/first_admin); the e-mail goes with it.
        values["env"] = {"AUTH_FIRST_ADMIN_EMAIL": spec.admin.email}
    traffic = spec.istio.traffic_for(name)
    if traffic != spec.istio.traffic:
        values["istio"] = traffic_values(traffic)
    return values


def traffic_values(traffic: TrafficPolicy) -> dict[str, Any]:
    """The chart's istio.traffic (or services.<name>.istio) for one policy."""
    breaker = traffic.circuit_breaker
    return {
        "timeout": traffic.timeout,
        "retries": {
            "attempts": traffic.retries.attempts,
            "perTryTimeout": traffic.retries.per_try_timeout,
            "retryOn": traffic.retries.retry_on,
        },
        "connectionPool": {
            "maxConnections": breaker.max_connections,
            "http1MaxPendingRequests": breaker.http1_max_pending_requests,
        },
        "outlierDetection": {
            "consecutive5xxErrors": breaker.consecutive_5xx_errors,
            "interval": breaker.interval,
            "baseEjectionTime": breaker.base_ejection_time,
        },
    }


def _gateway(spec: ProductStoreSpec) -> dict[str, Any]:
    """The chart's own gateway: on or off, and how its Service is reached."""
    gateway = spec.gateway
    return {
        "enabled": gateway.enabled,
        "replicas": gateway.replicas,
        "service": {"type": gateway.service_type, "nodePort": gateway.node_port or 0},
        "rate": gateway.rate_limit.requests_per_second,
        "burst": gateway.rate_limit.burst,
        # Where the services run, the gateway runs.
        **_scheduling(spec),
    }


def _ingress(spec: ProductStoreSpec, settings: OperatorSettings) -> dict[str, Any]:
    host = spec.gateway.host
    # The chart's Ingress always names a host; without one the store has no Ingress.
    values: dict[str, Any] = {
        "enabled": host is not None,
        "className": settings.gateway.ingress_class_name or "",
        "tlsSecretName": spec.gateway.tls_secret_name or "",
    }
    if host is not None:
        values["host"] = host
    return values


def _vault(spec: ProductStoreSpec, store: StoreRef, settings: OperatorSettings) -> dict[str, Any]:
    config = build_vault_config(spec, store, settings)
    target = vault_target(spec, settings)
    annotations = dict(settings.vault.agent_annotations)
    # The agent talks to the store's Vault, whatever the injector's default is:
    # the address the operator's configuration gives the Pods, never the spec's.
    annotations["vault.hashicorp.com/service"] = target.pod_address
    return {
        "enabled": spec.vault.injector.enabled,
        # auth keeps its signing keys there (the chart sets its AUTH_VAULT_*), with
        # or without the injector: its policy is in build_vault_config.
        "address": target.pod_address,
        "rolePrefix": vault_role_prefix(target.role_prefix, store),
        "authPath": f"auth/{target.auth_mount}",
        "secretPath": config.secret_path(),
        "annotations": annotations,
    }
