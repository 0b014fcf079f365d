"""The operator's only I/O: the Kubernetes API, the helm CLI, Vault and an external
Cassandra's roles.

Nothing else in the operator imports the Kubernetes client, hvac or the Cassandra
driver, or runs a process (import-linter contract ``operator-io-only``); the
reconcile calls these with bodies the builders made.
"""

from productstore_operator.io.cql import CassandraTarget, CqlAdmin, ServiceRole
from productstore_operator.io.errors import TransientError
from productstore_operator.io.helm import Helm, Revision
from productstore_operator.io.kube import Kube, api_client
from productstore_operator.io.secretgen import generate_secret
from productstore_operator.io.vault import KubernetesAuth, VaultAdmin, VaultChanges, VaultPool

__all__ = [
    "CassandraTarget",
    "CqlAdmin",
    "Helm",
    "Kube",
    "KubernetesAuth",
    "Revision",
    "ServiceRole",
    "TransientError",
    "VaultAdmin",
    "VaultChanges",
    "VaultPool",
    "api_client",
    "generate_secret",
]
