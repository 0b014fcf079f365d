"""The operator's process configuration: command-line flags over environment variables.

``load_config(argv, environ)`` is pure (no I/O beyond reading nothing): it
turns flags and ``PRODUCTSTORE_OPERATOR_*`` variables into a ``RuntimeConfig``,
which carries the builders' ``OperatorSettings`` and what only the I/O layer
needs (chart, helm, Vault credentials, ports). A flag wins over its variable.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from productstore_operator.builders.settings import LogLevel, OperatorSettings

ENV_PREFIX: Final = "PRODUCTSTORE_OPERATOR_"
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A source checkout: operator/src/productstore_operator/config.py -> <repo>/charts/productstore.
_CHECKOUT_CHART: Final = Path(__file__).resolve().parents[3] / "charts" / "productstore"
_TRUE: Final = frozenset({"1", "true", "yes", "on"})


class ConfigError(ValueError):
    """A flag or variable has a value the operator cannot run with."""


@dataclass(frozen=True)
class VaultAuthConfig:
    """How the operator configures Vault's Kubernetes auth method for the stores."""

    # The apiserver Vault sends TokenReviews to.
    kubernetes_host: str = "https://kubernetes.default.svc"
    # CA of that apiserver; None: Vault (in a Pod) uses its own service-account CA.
    kubernetes_ca_file: Path | None = None
    # ServiceAccount ("namespace", "name") whose TokenRequest token Vault reviews
    # with; None: Vault (in a Pod) uses its own token.
    reviewer_service_account: tuple[str, str] | None = None


@dataclass(frozen=True)
class RuntimeConfig:
    """Everything the operator process is started with."""

    namespaces: tuple[str, ...] = ()
    all_namespaces: bool = False
    chart: Path = _CHECKOUT_CHART
    helm: str = "helm"
    kubeconfig: Path | None = None
    vault_token_file: Path | None = None
    vault_token: str | None = None
    vault_auth: VaultAuthConfig = field(default_factory=VaultAuthConfig)
    resync_seconds: float = 60.0
    max_concurrent_helm: int = 4
    # A failed upgrade with unchanged values is retried after this long.
    upgrade_retry_seconds: float = 300.0
    # A release left pending-* this long was abandoned by a helm that died
    # (the operator's helm gives up after 3 minutes).
    stale_release_seconds: float = 600.0
    metrics_address: str = "0.0.0.0"  # noqa: S104 - a Pod's metrics must be scrapable
    metrics_port: int = 8080
    health_port: int = 8081
    settings: OperatorSettings = field(default_factory=OperatorSettings)

    def read_vault_token(self) -> str | None:
        """The operator's Vault token, read anew each time so an agent can rotate the file."""
        if self.vault_token_file is not None:
            try:
                return self.vault_token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read the Vault token file {self.vault_token_file}: {exc.strerror}"
                ) from exc
        return self.vault_token


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    def var(name: str, default: str | None = None) -> str | None:
        return env.get(ENV_PREFIX + name, default)

    parser = argparse.ArgumentParser(
        prog="productstore-operator",
        description="Reconciles ProductStore resources into running stores.",
    )
    scope = parser.add_argument_group("scope (one is required)")
    namespaces = [n.strip() for n in (var("NAMESPACES") or "").split(",") if n.strip()]
    scope.add_argument(
        "--namespace",
        action="append",
        dest="namespaces",
        default=None,
        help=f"watch this namespace (repeatable; env {ENV_PREFIX}NAMESPACES, comma-separated)",
    )
    scope.add_argument(
        "--all-namespaces",
        action="store_true",
        default=(var("ALL_NAMESPACES") or "").lower() in _TRUE,
        help="watch every namespace",
    )
    parser.set_defaults(env_namespaces=namespaces)
    parser.add_argument("--chart", default=var("CHART"), help="path of charts/productstore")
    parser.add_argument(
        "--helm", default=var("HELM") or env.get("HELM") or "helm", help="helm v3 binary"
    )
    parser.add_argument("--vault-token-file", default=var("VAULT_TOKEN_FILE"))
    parser.add_argument("--vault-kubernetes-host", default=var("VAULT_KUBERNETES_HOST"))
    parser.add_argument("--vault-kubernetes-ca-file", default=var("VAULT_KUBERNETES_CA_FILE"))
    parser.add_argument(
        "--vault-reviewer-service-account",
        default=var("VAULT_REVIEWER_SERVICE_ACCOUNT"),
        metavar="NAMESPACE/NAME",
    )
    parser.add_argument("--resync-seconds", default=var("RESYNC_SECONDS", "60"))
    parser.add_argument("--max-concurrent-helm", default=var("MAX_CONCURRENT_HELM", "4"))
    parser.add_argument("--upgrade-retry-seconds", default=var("UPGRADE_RETRY_SECONDS", "300"))
    parser.add_argument("--stale-release-seconds", default=var("STALE_RELEASE_SECONDS", "600"))
    parser.add_argument(
        "--metrics-address",
        default=var("METRICS_ADDRESS", "0.0.0.0"),  # noqa: S104 - see metrics_address above
    )
    parser.add_argument("--metrics-port", default=var("METRICS_PORT", "8080"))
    parser.add_argument("--health-port", default=var("HEALTH_PORT", "8081"))
    parser.add_argument("--log-level", default=var("LOG_LEVEL", "INFO"), choices=LOG_LEVELS)
    parser.add_argument("--cluster-domain", default=var("CLUSTER_DOMAIN", "cluster.local"))
    parser.add_argument("--trust-domain", default=var("TRUST_DOMAIN", "cluster.local"))
    parser.add_argument("--monitoring-namespace", default=var("MONITORING_NAMESPACE", "monitoring"))
    parser.add_argument(
        "--network-policy",
        action="store_true",
        default=(var("NETWORK_POLICY") or "").lower() in _TRUE,
    )
    return parser


def _number(name: str, text: str, *, low: float, integer: bool = False) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ConfigError(f"--{name} must be a number, not {text!r}") from None
    if value < low:
        raise ConfigError(f"--{name} must be at least {low}, not {value}")
    return value


def _reviewer(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    namespace, _, name = text.partition("/")
    if not namespace or not name:
        raise ConfigError(f"--vault-reviewer-service-account must be NAMESPACE/NAME, not {text!r}")
    return namespace, name


def load_config(argv: Sequence[str], env: Mapping[str, str]) -> RuntimeConfig:
    """The configuration from flags ``argv`` and the environment ``env``.

    Raises SystemExit (argparse) for unknown flags and ConfigError for bad values.
    """
    args = _parser(env).parse_args(list(argv))
    namespaces = tuple(args.namespaces or args.env_namespaces)
    if bool(namespaces) == bool(args.all_namespaces):
        raise ConfigError("give --namespace NS (repeatable) or --all-namespaces, not both or none")
    chart = Path(args.chart) if args.chart else _CHECKOUT_CHART
    if not (chart / "Chart.yaml").is_file():
        raise ConfigError(f"--chart {chart} is not a Helm chart (no Chart.yaml)")
    ca_file = Path(args.vault_kubernetes_ca_file) if args.vault_kubernetes_ca_file else None
    kubeconfig = env.get("KUBECONFIG")
    log_level: LogLevel = args.log_level
    return RuntimeConfig(
        namespaces=namespaces,
        all_namespaces=bool(args.all_namespaces),
        chart=chart,
        helm=args.helm,
        kubeconfig=Path(kubeconfig) if kubeconfig else None,
        vault_token_file=Path(args.vault_token_file) if args.vault_token_file else None,
        vault_token=env.get("VAULT_TOKEN") or None,
        vault_auth=VaultAuthConfig(
            kubernetes_host=args.vault_kubernetes_host or VaultAuthConfig.kubernetes_host,
            kubernetes_ca_file=ca_file,
            reviewer_service_account=_reviewer(args.vault_reviewer_service_account),
        ),
        resync_seconds=_number("resync-seconds", args.resync_seconds, low=1),
        max_concurrent_helm=int(
            _number("max-concurrent-helm", args.max_concurrent_helm, low=1, integer=True)
        ),
        upgrade_retry_seconds=_number("upgrade-retry-seconds", args.upgrade_retry_seconds, low=1),
        stale_release_seconds=_number("stale-release-seconds", args.stale_release_seconds, low=1),
        metrics_address=args.metrics_address,
        metrics_port=int(_number("metrics-port", args.metrics_port, low=0, integer=True)),
        health_port=int(_number("health-port", args.health_port, low=0, integer=True)),
        settings=OperatorSettings(
            cluster_domain=args.cluster_domain,
            trust_domain=args.trust_domain,
            monitoring_namespace=args.monitoring_namespace or None,
            network_policy=bool(args.network_policy),
            log_level=log_level,
        ),
    )
