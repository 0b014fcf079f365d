"""The operator's process configuration: command-line flags over environment variables.

``load_config(argv, environ)`` is pure (no I/O beyond reading nothing): it
turns flags and ``PRODUCTSTORE_OPERATOR_*`` variables into a ``RuntimeConfig``,
which carries the builders' ``OperatorSettings`` and what only the I/O layer
needs (chart, helm, Vault credentials, ports). A flag wins over its variable.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, StringConstraints, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from productstore_operator.builders.settings import (
    DEFAULT_RUNBOOK_BASE_URL,
    AlertingSettings,
    LogLevel,
    OperatorSettings,
    VaultSettings,
    VaultTarget,
)
from productstore_operator.models.base import HttpUrl
from productstore_operator.models.spec import (
    DEFAULT_REGISTRY,
    REGISTRY_PATTERN,
    VaultName,
    VaultPath,
    VaultServerName,
)

ENV_PREFIX: Final = "PRODUCTSTORE_OPERATOR_"
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A source checkout: operator/src/productstore_operator/config.py -> <repo>/charts/productstore.
_CHECKOUT_CHART: Final = Path(__file__).resolve().parents[3] / "charts" / "productstore"
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
# The control plane's own namespaces: a store there is refused whatever the scope
# (secrets and workloads in kube-system are the cluster's keys), and no
# --namespace may name or match one.
PROTECTED_NAMESPACES: Final = ("kube-system", "kube-public", "kube-node-lease")


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


class _VaultEntry(BaseModel):
    """One element of --vaults (JSON): a Vault the stores may name."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)

    name: VaultServerName
    # Where the operator connects.
    address: HttpUrl
    # Where the stores' Pods connect (in-cluster DNS); unset: address.
    pod_address: HttpUrl | None = None
    auth_mount: VaultPath = "kubernetes"
    kv_mount: VaultPath = "secret"
    kv_path: VaultPath = "productstore"
    role_prefix: VaultName = "productstore"
    # CA bundle that verifies the server's certificate; unset: the system's CAs.
    ca_file: Annotated[str, StringConstraints(min_length=1)] | None = None
    # Plain http and unverified certificates: devstack's OpenBao on loopback only.
    insecure: bool = False
    # The operator's token for this Vault; unset: --vault-token-file (or VAULT_TOKEN).
    token_file: Annotated[str, StringConstraints(min_length=1)] | None = None


_ENTRIES: Final = TypeAdapter(list[_VaultEntry])


@dataclass(frozen=True)
class VaultServer:
    """A Vault the operator is configured with: where it connects and how.

    Only the operator's configuration makes one; a store picks one by name.
    """

    name: str
    address: str
    pod_address: str
    auth_mount: str = "kubernetes"
    kv_mount: str = "secret"
    kv_path: str = "productstore"
    role_prefix: str = "productstore"
    ca_file: Path | None = None
    insecure: bool = False
    token_file: Path | None = None

    @property
    def verify(self) -> bool | str:
        """requests' ``verify``: the CA file, the system's CAs, or (insecure) nothing."""
        if self.ca_file is not None:
            return str(self.ca_file)
        return not self.insecure

    def target(self) -> VaultTarget:
        """What the builders may know of it: no address of the operator's, no credentials."""
        return VaultTarget(
            name=self.name,
            pod_address=self.pod_address,
            auth_mount=self.auth_mount,
            kv_mount=self.kv_mount,
            kv_path=self.kv_path,
            role_prefix=self.role_prefix,
        )


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
    # The Vaults stores may name (spec.vault.name); none: every store is refused.
    vaults: tuple[VaultServer, ...] = ()
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
    # spec.image.registry must be one of these (exactly): whoever may create a
    # ProductStore chooses the images the operator's account deploys.
    allowed_registries: tuple[str, ...] = (DEFAULT_REGISTRY,)

    def read_vault_token(self, server: VaultServer | None = None) -> str | None:
        """The operator's token for ``server`` (its own file, else the shared one), read
        anew each time so an agent can rotate the file."""
        path = server.token_file if server is not None else None
        path = path or self.vault_token_file
        if path is not None:
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read the Vault token file {path}: {exc.strerror}"
                ) from exc
        return self.vault_token

    def vault(self, name: str) -> VaultServer | None:
        """The configured Vault called ``name``."""
        return next((server for server in self.vaults if server.name == name), None)


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
    parser.add_argument(
        "--vaults",
        default=var("VAULTS"),
        metavar="JSON",
        help="the Vaults stores may name: a JSON list of {name, address, podAddress, "
        "authMount, kvMount, kvPath, rolePrefix, caFile, insecure, tokenFile}",
    )
    parser.add_argument("--vault-token-file", default=var("VAULT_TOKEN_FILE"))
    parser.add_argument("--vault-kubernetes-host", default=var("VAULT_KUBERNETES_HOST"))
    parser.add_argument("--vault-kubernetes-ca-file", default=var("VAULT_KUBERNETES_CA_FILE"))
    parser.add_argument(
        "--vault-reviewer-service-account",
        default=var("VAULT_REVIEWER_SERVICE_ACCOUNT"),
        metavar="NAMESPACE/NAME",
    )
    parser.add_argument(
        "--allowed-registry",
        action="append",
        dest="allowed_registries",
        default=None,
        metavar="REGISTRY",
        help=(
            "an image registry stores may use (repeatable; env "
            f"{ENV_PREFIX}ALLOWED_REGISTRIES, comma-separated; default {DEFAULT_REGISTRY})"
        ),
    )
    parser.set_defaults(env_allowed_registries=_split(var("ALLOWED_REGISTRIES")))
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
        "--runbook-base-url",
        default=var("RUNBOOK_BASE_URL", DEFAULT_RUNBOOK_BASE_URL),
        help="where the alerts' runbook_url annotations point (<url>/<alert>.md)",
    )
    parser.add_argument(
        "--telegram-api-url",
        default=var("TELEGRAM_API_URL", ""),
        help="Telegram Bot API base URL the stores' AlertmanagerConfigs name "
        "(default: Alertmanager's, https://api.telegram.org)",
    )
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


def _split(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def _allowed_registries(given: Sequence[str]) -> tuple[str, ...]:
    registries = tuple(dict.fromkeys(r.strip().rstrip("/") for r in given)) or (DEFAULT_REGISTRY,)
    bad = [r for r in registries if not re.fullmatch(REGISTRY_PATTERN, r)]
    if bad:
        raise ConfigError(
            f"--allowed-registry {', '.join(map(repr, bad))} is not a registry path "
            "(host[:port][/path], lower case, no scheme, no trailing slash)"
        )
    return registries


def _check_scope(namespaces: Sequence[str]) -> None:
    """No watched namespace (or kopf glob) may be, or match, a protected one."""
    for pattern in namespaces:
        hit = [ns for ns in PROTECTED_NAMESPACES if fnmatch.fnmatchcase(ns, pattern)]
        if hit:
            raise ConfigError(
                f"--namespace {pattern!r} covers {', '.join(hit)}: the operator never acts "
                f"in {', '.join(PROTECTED_NAMESPACES)}; name the stores' namespaces instead"
            )


def _reviewer(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    namespace, _, name = text.partition("/")
    if not namespace or not name:
        raise ConfigError(f"--vault-reviewer-service-account must be NAMESPACE/NAME, not {text!r}")
    return namespace, name


def _where(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def _vaults(text: str | None) -> tuple[VaultServer, ...]:
    if not text or not text.strip():
        return ()
    try:
        entries = _ENTRIES.validate_python(_json_list(text))
    except ValidationError as exc:
        problems = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"--vaults: {problems}") from None
    servers: list[VaultServer] = []
    for entry in entries:
        if entry.address.startswith("http://") and not entry.insecure:
            raise ConfigError(
                f"--vaults: Vault '{entry.name}' at {entry.address} is plain http, which "
                "would send the operator's token unencrypted: use https, or set "
                '"insecure": true for a Vault on loopback (devstack)'
            )
        if any(server.name == entry.name for server in servers):
            raise ConfigError(f"--vaults: the name '{entry.name}' is given twice")
        servers.append(
            VaultServer(
                name=entry.name,
                address=entry.address,
                pod_address=entry.pod_address or entry.address,
                auth_mount=entry.auth_mount,
                kv_mount=entry.kv_mount,
                kv_path=entry.kv_path,
                role_prefix=entry.role_prefix,
                ca_file=Path(entry.ca_file) if entry.ca_file else None,
                insecure=entry.insecure,
                token_file=Path(entry.token_file) if entry.token_file else None,
            )
        )
    return tuple(servers)


def _json_list(text: str) -> list[object]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--vaults is not JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(document, list):
        raise ConfigError("--vaults must be a JSON list of Vaults")
    return document


def load_config(argv: Sequence[str], env: Mapping[str, str]) -> RuntimeConfig:
    """The configuration from flags ``argv`` and the environment ``env``.

    Raises SystemExit (argparse) for unknown flags and ConfigError for bad values.
    """
    args = _parser(env).parse_args(list(argv))
    namespaces = tuple(args.namespaces or args.env_namespaces)
    if bool(namespaces) == bool(args.all_namespaces):
        raise ConfigError("give --namespace NS (repeatable) or --all-namespaces, not both or none")
    _check_scope(namespaces)
    chart = Path(args.chart) if args.chart else _CHECKOUT_CHART
    if not (chart / "Chart.yaml").is_file():
        raise ConfigError(f"--chart {chart} is not a Helm chart (no Chart.yaml)")
    ca_file = Path(args.vault_kubernetes_ca_file) if args.vault_kubernetes_ca_file else None
    kubeconfig = env.get("KUBECONFIG")
    log_level: LogLevel = args.log_level
    vaults = _vaults(args.vaults)
    settings = OperatorSettings(
        cluster_domain=args.cluster_domain,
        trust_domain=args.trust_domain,
        monitoring_namespace=args.monitoring_namespace or None,
        runbook_base_url=args.runbook_base_url.rstrip("/"),
        alerting=AlertingSettings(
            telegram_api_url=args.telegram_api_url or None,
        ),
        network_policy=bool(args.network_policy),
        log_level=log_level,
    )
    # The builders see each Vault's names and Pod address, never its credentials.
    targets = MappingProxyType({server.name: server.target() for server in vaults})
    settings = replace(settings, vault=replace(VaultSettings(), servers=targets))
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
        settings=settings,
        vaults=vaults,
        allowed_registries=_allowed_registries(
            args.allowed_registries or args.env_allowed_registries
        ),
    )
