"""Entry point: ``productstore-operator`` / ``python -m productstore_operator``.

Reads the configuration (flags over PRODUCTSTORE_OPERATOR_* variables), builds
the I/O clients, serves metrics and runs kopf in standalone mode (one replica,
no peering objects).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import kopf

from productstore_operator.config import ConfigError, RuntimeConfig, load_config
from productstore_operator.handlers import register
from productstore_operator.io import Helm, Kube, api_client
from productstore_operator.metrics import Metrics
from productstore_operator.reconcile import Runtime


def _runtime(config: RuntimeConfig) -> Runtime:
    ca_file = config.vault_auth.kubernetes_ca_file
    try:
        ca_pem = ca_file.read_text(encoding="utf-8") if ca_file is not None else None
    except OSError as exc:
        raise ConfigError(f"cannot read --vault-kubernetes-ca-file {ca_file}: {exc}") from exc
    for server in config.vaults:
        # requests reads it on every connection: a missing bundle fails every pass.
        if server.ca_file is not None and not server.ca_file.is_file():
            raise ConfigError(
                f"--vaults: caFile {server.ca_file} of Vault '{server.name}' is no file"
            )
    return Runtime(
        config=config,
        kube=Kube(api_client(config.kubeconfig)),
        helm=Helm(config.helm, config.chart, config.kubeconfig, config.max_concurrent_helm),
        kubernetes_ca_pem=ca_pem,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the operator until SIGTERM/SIGINT; returns the exit status."""
    try:
        config = load_config(sys.argv[1:] if argv is None else argv, os.environ)
        runtime = _runtime(config)
    except ConfigError as exc:
        # The process's one user-facing message before logging is set up.
        sys.stderr.write(f"productstore-operator: {exc}\n")
        return 2
    logging.basicConfig(
        level=config.settings.log_level,
        format="%(asctime)s %(levelname)s [%(name)s] %(message)s",
    )
    metrics = Metrics()
    metrics.serve(config.metrics_address, config.metrics_port)
    registry = kopf.OperatorRegistry()
    register(registry, runtime, metrics)
    liveness = (
        f"http://{config.metrics_address}:{config.health_port}/healthz"
        if config.health_port
        else None
    )
    kopf.run(
        registry=registry,
        standalone=True,
        clusterwide=config.all_namespaces,
        namespaces=config.namespaces,
        liveness_endpoint=liveness,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
