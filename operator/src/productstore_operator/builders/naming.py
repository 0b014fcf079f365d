"""Names of a store's children, derived in one place.

The chart, the Vault roles and the K8ssandraCluster all refer to the same
ServiceAccounts, Services and keyspace; computing each name once keeps them
from drifting apart.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from productstore_operator.builders.errors import InvalidSpecError
from productstore_operator.models import SERVICE_NAMES

# Every child's name is "<store>-<suffix>" and must stay a 63-character DNS
# label; the chart cuts its name prefix at 40, so longer names would collide.
MAX_STORE_NAME = 40
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# CQL keyspace names: a letter, then letters, digits and _, at most 48. The chart
# appends "_<service>" (up to 16 more) to this prefix, so it keeps to 32.
_KEYSPACE_MAX = 32
# Hex digits of the store digest in Vault names (Vault allows long names; 64 bits).
_VAULT_DIGEST = 16


@dataclass(frozen=True)
class StoreRef:
    """The ProductStore's identity: metadata.name and metadata.namespace."""

    name: str
    namespace: str

    def __post_init__(self) -> None:
        if len(self.name) > MAX_STORE_NAME or not _DNS_LABEL.match(self.name):
            raise InvalidSpecError(
                f"metadata.name {self.name!r} cannot name the store's children: use lower-case "
                f"letters, digits and '-', at most {MAX_STORE_NAME} characters, and "
                "recreate the ProductStore under that name"
            )
        if not _DNS_LABEL.match(self.namespace):
            raise InvalidSpecError(f"metadata.namespace {self.namespace!r} is not a DNS label")


def _known(service: str) -> str:
    if service not in SERVICE_NAMES:
        raise KeyError(f"unknown service {service!r}; services are {', '.join(SERVICE_NAMES)}")
    return service


def release_name(store: StoreRef) -> str:
    """The Helm release of the store's services."""
    return store.name


def component_name(store: StoreRef, service: str) -> str:
    """Name of one service's Deployment, Service, ConfigMap and ServiceAccount."""
    return f"{store.name}-{_known(service)}"


def gateway_name(store: StoreRef) -> str:
    """Name of the store's gateway's Deployment, Service, ConfigMap and ServiceAccount
    (the chart's "<fullname>-gateway")."""
    return f"{store.name}-gateway"


def service_account_name(store: StoreRef, service: str) -> str:
    """The ServiceAccount one service's Pods run as (its Vault and Istio identity)."""
    return component_name(store, service)


def k8ssandra_cluster_name(store: StoreRef) -> str:
    """The K8ssandraCluster of a store in mode k8ssandra."""
    return store.name


def cassandra_service_host(store: StoreRef, datacenter: str, cluster_domain: str) -> str:
    """The Service cass-operator creates for a datacenter: <cluster>-<dc>-service."""
    return (
        f"{k8ssandra_cluster_name(store)}-{datacenter}-service."
        f"{store.namespace}.svc.{cluster_domain}"
    )


def store_digest(store: StoreRef, length: int) -> str:
    """Hex digest of "<namespace>/<name>": names that must differ for every store.

    A readable "<namespace>-<name>" does not: store/a-b and store-a/b spell the
    same. "/" is in neither a namespace nor a name, so the digest's input is.
    """
    return hashlib.sha256(f"{store.namespace}/{store.name}".encode()).hexdigest()[:length]


def keyspace(store: StoreRef) -> str:
    """Prefix of the store's CQL keyspaces, unique per namespace and name.

    Each service keeps its tables in ``<prefix>_<service>`` (the chart's
    CASSANDRA_KEYSPACE), which also names that service's Cassandra role.

    Stores may share an external Cassandra, so the name carries a digest of
    "<namespace>/<name>" as well as a readable part.
    """
    digest = store_digest(store, 8)
    readable = store.name.replace("-", "_")[: _KEYSPACE_MAX - len("ps__") - len(digest)]
    return f"ps_{readable}_{digest}"


def service_keyspace(store: StoreRef, service: str) -> str:
    """The keyspace of one service of the store (the chart's CASSANDRA_KEYSPACE),
    which also names the service's Cassandra role."""
    return f"{keyspace(store)}_{_known(service)}"


def vault_store_path(kv_path: str, store: StoreRef) -> str:
    """Folder of the store's secrets below the KV mount: <kvPath>/<namespace>/<name>."""
    return f"{kv_path}/{store.namespace}/{store.name}"


def vault_role_prefix(role_prefix: str, store: StoreRef) -> str:
    """Prefix of the store's Vault role and policy names; the service name follows.

    ``<rolePrefix>-<namespace>-<name>-<16 hex of sha256(namespace/name)>-``: the
    readable part for people, the digest so that no two stores share a name
    (64 bits: nobody picks a store name to reach another's). Names are only
    ever used whole: the operator deletes the exact names it recorded, never
    what merely starts with a prefix (default/shop's would match shop-eu's).
    """
    return f"{role_prefix}-{store.namespace}-{store.name}-{store_digest(store, _VAULT_DIGEST)}-"


def vault_role_name(role_prefix: str, store: StoreRef, service: str) -> str:
    """The Kubernetes-auth role (and policy) of one service."""
    return f"{vault_role_prefix(role_prefix, store)}{_known(service)}"


def legacy_vault_role_names(role_prefix: str, store: StoreRef) -> tuple[str, ...]:
    """Role and policy names of operators before the digest (``<prefix>-<ns>-<name>-<service>``).

    A store those operators configured has no record of its names yet: these
    exact names are what a pass removes once, so the old roles do not linger.
    """
    return tuple(f"{role_prefix}-{store.namespace}-{store.name}-{s}" for s in SERVICE_NAMES)
