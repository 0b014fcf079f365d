"""The operator's only I/O: the Kubernetes API, the helm CLI and Vault.

Nothing else in the operator imports the Kubernetes client or hvac or runs a
process (import-linter contract ``operator-io-only``); the reconcile calls
these with bodies the builders made.
"""

from productstore_operator.io.errors import TransientError
from productstore_operator.io.helm import Helm, Revision
from productstore_operator.io.kube import Kube, api_client
from productstore_operator.io.secretgen import generate_secret
from productstore_operator.io.vault import KubernetesAuth, VaultAdmin, VaultChanges, VaultPool

__all__ = [
    "Helm",
    "Kube",
    "KubernetesAuth",
    "Revision",
    "TransientError",
    "VaultAdmin",
    "VaultChanges",
    "VaultPool",
    "api_client",
    "generate_secret",
]
