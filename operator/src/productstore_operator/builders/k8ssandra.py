"""The K8ssandraCluster (k8ssandra.io/v1alpha1) of a store in cassandra mode k8ssandra.

The owner reference is the I/O layer's to add: it needs the live object's uid.
"""

from __future__ import annotations

from typing import Any, Final

from productstore_operator.builders.errors import InvalidSpecError
from productstore_operator.builders.meta import labels, stamped
from productstore_operator.builders.naming import StoreRef, k8ssandra_cluster_name
from productstore_operator.builders.settings import OperatorSettings
from productstore_operator.models import ProductStoreSpec

API_VERSION: Final = "k8ssandra.io/v1alpha1"
KIND: Final = "K8ssandraCluster"
PLURAL: Final = "k8ssandraclusters"


# Paxos v2 (Cassandra 4.1+, CEP-14): a lightweight transaction in two round trips
# instead of four when uncontended, and SERIAL reads in one; inventory's reservations
# are all LWTs (docs/adr, the reservation design). Every serverVersion the model
# allows (4.1.x, 5.0.x) has it. Changing cassandra.yaml restarts the pods, rolling.
CASSANDRA_YAML: Final = {"paxos_variant": "v2"}


def _resources(settings: OperatorSettings) -> dict[str, Any]:
    return {
        section: dict(quantities) for section, quantities in settings.cassandra_resources.items()
    }


def build_k8ssandra_cluster(
    spec: ProductStoreSpec, store: StoreRef, settings: OperatorSettings
) -> dict[str, Any]:
    """The K8ssandraCluster body, stamped with its spec hash."""
    cassandra = spec.cassandra
    if cassandra.mode != "k8ssandra":
        raise InvalidSpecError("cassandra.mode is external: the store has no K8ssandraCluster")
    k8ssandra = cassandra.k8ssandra
    claim: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": k8ssandra.storage_size}},
    }
    if k8ssandra.storage_class_name is not None:
        claim["storageClassName"] = k8ssandra.storage_class_name
    body = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": k8ssandra_cluster_name(store),
            "namespace": store.namespace,
            "labels": labels(store, "cassandra"),
        },
        "spec": {
            "cassandra": {
                "serverVersion": k8ssandra.server_version,
                "config": {"cassandraYaml": dict(CASSANDRA_YAML)},
                "resources": _resources(settings),
                "datacenters": [
                    {
                        "metadata": {"name": k8ssandra.datacenter.name},
                        "size": k8ssandra.datacenter.size,
                        "storageConfig": {"cassandraDataVolumeClaimSpec": claim},
                    }
                ],
            }
        },
    }
    return stamped(body)
