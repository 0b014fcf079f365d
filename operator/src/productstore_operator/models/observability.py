"""Service level objectives of the store and where their alerts go.

``observability.slos.<service>`` holds one availability and one latency
objective per service, measured over 30 days on the services' own HTTP
metrics; the operator turns them into Prometheus recording rules and
multiwindow, multi-burn-rate alerts (builders/rules.py). ``observability.alerting``
names the receivers of those alerts; their tokens and webhook URLs stay in
Vault, and the store names only the keys that hold them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import Field, StringConstraints, create_model, model_validator

from productstore_contracts.metrics import LATENCY_BUCKETS
from productstore_operator.models.base import ResourceModel, cel_rule
from productstore_operator.models.services import SERVICE_NAMES

# The window every objective is measured over (Sloth's and the SRE workbook's default).
SLO_PERIOD: Final = "30d"

# Thresholds a latency SLO may use: the request-duration histogram's bounds, in
# whole milliseconds (the share of requests under a threshold is one bucket).
LATENCY_THRESHOLDS_MS: Final = tuple(
    round(bound * 1000) for bound in LATENCY_BUCKETS if (bound * 1000).is_integer()
)
LatencyThreshold = Literal[5, 10, 25, 50, 75, 100, 150, 200, 250, 500, 1000, 2500, 5000]

_OBJECTIVE_RULE = "self.objective > 0.0 && self.objective < 100.0"
_OBJECTIVE_MESSAGE = (
    "objective is a percentage of good requests above 0 and below 100 (e.g. 99.9): "
    "100 leaves no error budget to alert on"
)

# A KV key below the store's Vault folder (<kvPath>/<namespace>/<store>/): no
# leading slash, no "..", so it cannot leave that folder.
VaultKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$"),
]
# The store's folder also holds each service's secrets (<service>/...), which
# that service's Vault policy may read, and the Cassandra administrator's
# credential: a receiver's key there would hand its token to a service.
_RESERVED_FOLDERS = (*SERVICE_NAMES, "cassandra-admin")
_RESERVED_PATTERN = f"^({'|'.join(_RESERVED_FOLDERS)})(/|$)"
_RESERVED_MESSAGE = (
    "vaultKey must not be below a service's folder or cassandra-admin "
    f"({', '.join(_RESERVED_FOLDERS)}): the service could read it; use e.g. alerting/<receiver>"
)


class AvailabilitySLO(ResourceModel):
    """Share of the service's requests answered without a server error (5xx), over 30 days."""

    enabled: bool = Field(default=True, description="Record and alert on this objective.")
    objective: float = Field(
        default=99.9,
        description="Percent of requests that must not fail, above 0 and below 100, e.g. "
        "99.9 (an error budget of 0.1 %, about 43 minutes of failures in 30 days).",
    )

    @cel_rule(_OBJECTIVE_RULE, _OBJECTIVE_MESSAGE, field_path=".objective")
    def _objective_in_range(self) -> bool:
        return 0.0 < self.objective < 100.0


class LatencySLO(ResourceModel):
    """Share of the service's reads (GET and HEAD) answered within a threshold, over 30 days."""

    enabled: bool = Field(default=True, description="Record and alert on this objective.")
    objective: float = Field(
        default=99.0,
        description="Percent of reads that must be faster than thresholdMilliseconds, above "
        "0 and below 100; 99 with 200 ms means p99 < 200 ms.",
    )
    threshold_milliseconds: LatencyThreshold = Field(
        default=200,
        description="Latency a read must stay under, in milliseconds: one of the services' "
        f"histogram bounds ({', '.join(str(ms) for ms in LATENCY_THRESHOLDS_MS)}).",
    )

    @cel_rule(_OBJECTIVE_RULE, _OBJECTIVE_MESSAGE, field_path=".objective")
    def _objective_in_range(self) -> bool:
        return 0.0 < self.objective < 100.0


class ServiceSLOs(ResourceModel):
    """The objectives of one service."""

    availability: AvailabilitySLO = Field(
        default_factory=AvailabilitySLO,
        description="Share of the service's requests answered without a server error (5xx), "
        "over 30 days. Probes and scrapes (/healthz, /readyz, /metrics) do not count; a 503 "
        "for an unavailable dependency is an error.",
    )
    latency: LatencySLO = Field(
        default_factory=LatencySLO,
        description="Share of the service's reads (GET and HEAD) answered within "
        "thresholdMilliseconds, over 30 days.",
    )


def _slos(name: str) -> Any:
    return Field(
        default_factory=ServiceSLOs,
        description=f"Objectives of {name} (used while the service is enabled).",
    )


class _SLOs(ResourceModel):
    """Service level objectives per service, keyed by service name."""

    @model_validator(mode="before")
    @classmethod
    def _known_services(cls, data: Any) -> Any:
        # Said before pydantic's "Extra inputs are not permitted", which names no service.
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(SERVICE_NAMES))
            if unknown:
                raise ValueError(
                    f"unknown service {', '.join(unknown)} in observability.slos; "
                    f"services are {', '.join(SERVICE_NAMES)}"
                )
        return data

    def get(self, service: str) -> ServiceSLOs:
        """The objectives of ``service`` (one of SERVICE_NAMES)."""
        if service not in SERVICE_NAMES:
            raise KeyError(f"unknown service {service!r}; services are {', '.join(SERVICE_NAMES)}")
        slos: ServiceSLOs = getattr(self, service)
        return slos


# One field per service, from SERVICE_NAMES like ServicesSpec, so kubectl explain
# lists them and the apiserver refuses a misspelt service.
if TYPE_CHECKING:
    SLOsSpec = _SLOs
else:
    SLOsSpec = create_model(
        "SLOsSpec",
        __base__=_SLOs,
        __doc__=_SLOs.__doc__,
        __module__=__name__,
        **{name: (ServiceSLOs, _slos(name)) for name in SERVICE_NAMES},
    )


class SlackReceiver(ResourceModel):
    """A Slack incoming webhook: receives critical and warning alerts."""

    vault_key: VaultKey = Field(
        description="KV key, below the store's Vault folder, whose field webhookUrl is the "
        "Slack incoming-webhook URL, e.g. alerting/slack. Only the key is in the store: "
        "an administrator writes the URL to Vault.",
    )
    channel: (
        Annotated[str, StringConstraints(max_length=80, pattern=r"^[#@]?[a-z0-9._-]+$")] | None
    ) = Field(default=None, description="Channel to post to; unset: the webhook's own.")

    @cel_rule(
        f"!self.vaultKey.matches('{_RESERVED_PATTERN}')", _RESERVED_MESSAGE, field_path=".vaultKey"
    )
    def _not_a_service_folder(self) -> bool:
        return not _reserved(self.vault_key)


class TelegramReceiver(ResourceModel):
    """A Telegram bot posting to one chat: receives critical alerts."""

    vault_key: VaultKey = Field(
        description="KV key, below the store's Vault folder, whose field botToken is the "
        "Telegram bot's token, e.g. alerting/telegram. Only the key is in the store: an "
        "administrator writes the token to Vault.",
    )
    chat_id: int = Field(
        description="Chat the bot posts to (a group's id is negative). Not a secret: the "
        "bot token is.",
    )

    @cel_rule(
        f"!self.vaultKey.matches('{_RESERVED_PATTERN}')", _RESERVED_MESSAGE, field_path=".vaultKey"
    )
    def _not_a_service_folder(self) -> bool:
        return not _reserved(self.vault_key)


def _reserved(key: str) -> bool:
    return key.split("/", 1)[0] in _RESERVED_FOLDERS


class AlertingSpec(ResourceModel):
    """Where the store's alerts go: critical ones to Telegram and Slack, warnings to Slack."""

    slack: SlackReceiver | None = Field(default=None, description="Slack receiver; unset: none.")
    telegram: TelegramReceiver | None = Field(
        default=None, description="Telegram receiver; unset: none."
    )

    @cel_rule(
        "!has(self.slack) || !has(self.telegram) || self.slack.vaultKey != self.telegram.vaultKey",
        "alerting.slack.vaultKey and alerting.telegram.vaultKey must differ",
        field_path=".telegram.vaultKey",
    )
    def _distinct_keys(self) -> bool:
        return not (
            self.slack and self.telegram and self.slack.vault_key == self.telegram.vault_key
        )


class ObservabilitySpec(ResourceModel):
    """Service level objectives, the rules and alerts made from them, and alert receivers."""

    slos: SLOsSpec = Field(
        default_factory=SLOsSpec,
        description="Objectives per service, keyed by service name. Every enabled service has "
        "them, with the defaults (99.9 % of requests without a 5xx, 99 % of reads under "
        "200 ms, over 30 days) unless set; the operator renders their recording rules and "
        "burn-rate alerts as a PrometheusRule.",
    )
    alerting: AlertingSpec = Field(
        default_factory=AlertingSpec,
        description="Where the store's alerts go: critical ones to Telegram and Slack, "
        "warnings to Slack. Tokens and webhook URLs stay in Vault; only their keys are here.",
    )
