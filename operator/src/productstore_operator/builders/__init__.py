"""Pure builders: a ProductStore spec and the operator's settings in, the
desired state out (Helm values, object bodies, Vault configuration).

No I/O: nothing here imports a Kubernetes client, kopf or hvac, or runs a
process (import-linter contract ``operator-builders-pure``), so each builder
is tested as a table of specs.
"""

from productstore_operator.builders.alerting import (
    build_alertmanager_config,
    build_alertmanager_file,
)
from productstore_operator.builders.errors import InvalidSpecError
from productstore_operator.builders.k8ssandra import build_k8ssandra_cluster
from productstore_operator.builders.meta import SPEC_HASH_ANNOTATION, spec_hash, stamped
from productstore_operator.builders.naming import StoreRef
from productstore_operator.builders.rules import build_rule_groups
from productstore_operator.builders.settings import (
    AlertingSettings,
    GatewaySettings,
    OperatorSettings,
    VaultSettings,
    VaultTarget,
)
from productstore_operator.builders.values import build_release_values
from productstore_operator.builders.vault import VaultConfig, build_vault_config

__all__ = [
    "SPEC_HASH_ANNOTATION",
    "AlertingSettings",
    "GatewaySettings",
    "InvalidSpecError",
    "OperatorSettings",
    "StoreRef",
    "VaultConfig",
    "VaultSettings",
    "VaultTarget",
    "build_alertmanager_config",
    "build_alertmanager_file",
    "build_k8ssandra_cluster",
    "build_release_values",
    "build_rule_groups",
    "build_vault_config",
    "spec_hash",
    "stamped",
]
