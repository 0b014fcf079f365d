"""What the builders need to know about the cluster the operator runs in.

Plain data, filled by whoever starts the operator (environment, flags) and
passed to every builder: builders read no globals and no environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
# Where the alerts' runbook_url annotations point: docs/runbooks of the project.
DEFAULT_RUNBOOK_BASE_URL = "https://github.com/productstore/productstore/blob/main/docs/runbooks"


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


def _default_cassandra_resources() -> Mapping[str, Any]:
    # Cassandra's heap is half the memory limit by default; 4Gi is the
    # smallest size k8ssandra's docs call production-like.
    return MappingProxyType(
        {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"memory": "4Gi"}}
    )


@dataclass(frozen=True)
class GatewaySettings:
    """The ingress proxy that brings outside traffic to the services."""

    namespace: str = "ingress-nginx"
    service_account: str = "ingress-nginx"
    pod_labels: Mapping[str, str] = field(
        default_factory=lambda: _frozen({"app.kubernetes.io/name": "ingress-nginx"})
    )
    # IngressClass of the store's Ingress; None means the cluster's default class.
    ingress_class_name: str | None = "nginx"


@dataclass(frozen=True)
class VaultTarget:
    """One Vault the operator is configured with, as the builders see it (no credentials).

    A store picks one by name (spec.vault.name); where the operator itself
    connects, with which token and TLS settings, only the I/O layer knows.
    """

    name: str
    # The address the stores' Pods (agent, auth) use; may differ from the operator's.
    pod_address: str
    auth_mount: str = "kubernetes"
    kv_mount: str = "secret"
    # Folder below kv_mount that holds one folder per store.
    kv_path: str = "productstore"
    role_prefix: str = "productstore"


@dataclass(frozen=True)
class VaultSettings:
    """How the services' Pods reach Vault and how long their Vault tokens live."""

    # Durations, not secrets (ruff's S105 keys on "token").
    token_ttl: str = "1h"  # noqa: S105 - a Vault token lifetime, not a secret
    token_max_ttl: str = "24h"  # noqa: S105 - a lifetime, not a secret
    # Extra vault.hashicorp.com/* Pod annotations (agent image, resources, ...).
    agent_annotations: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    # The Vaults the operator is configured with, by name: the only ones a store can use.
    servers: Mapping[str, VaultTarget] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class AlertingSettings:
    """How the cluster's Alertmanager reaches a store's receivers, and how it batches."""

    # Telegram Bot API base URL; None: Alertmanager's own (https://api.telegram.org).
    telegram_api_url: str | None = None
    # Alertmanager's route timings: its own defaults, but repeat every 4h
    # (kube-prometheus-stack's) rather than 12h while an alert keeps firing.
    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"


@dataclass(frozen=True)
class OperatorSettings:
    """Cluster-wide facts and choices the operator applies to every store."""

    cluster_domain: str = "cluster.local"
    # Istio's trust domain; it prefixes the callers' principals.
    trust_domain: str = "cluster.local"
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    # Namespace of the Prometheus that scrapes the services; None: no scrape rules.
    monitoring_namespace: str | None = "monitoring"
    # Kubernetes NetworkPolicies beside Istio's policies; they need gateway.pod_labels right.
    network_policy: bool = False
    log_level: LogLevel = "INFO"
    vault: VaultSettings = field(default_factory=VaultSettings)
    cassandra_resources: Mapping[str, Any] = field(default_factory=_default_cassandra_resources)
    # Base URL of the runbooks the alerts link (<base>/<alert>.md).
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL
    alerting: AlertingSettings = field(default_factory=AlertingSettings)
