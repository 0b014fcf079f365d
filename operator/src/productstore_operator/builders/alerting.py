"""Where a store's alerts go: its Alertmanager configuration.

``spec.observability.alerting`` names a Slack and a Telegram receiver; the
routing is fixed by severity: critical alerts to Telegram and Slack, warnings
to Slack, a warning muted while a critical alert of the same store and
service fires, notifications grouped by store and service. One routing
(``alert_routing``) is written out twice:

- ``build_alertmanager_config``: the spec of an AlertmanagerConfig
  (monitoring.coreos.com/v1alpha1), which the chart renders where Prometheus
  Operator is; Prometheus Operator confines it to the store's namespace;
- ``build_alertmanager_file``: a plain Alertmanager configuration for one
  store (devstack's Alertmanager, ``amtool check-config``), nested under the
  store's namespace and name as Prometheus Operator nests the former.

No secret is in either. In the AlertmanagerConfig the Slack webhook URL and the
Telegram bot token are keys of one Secret in the store's namespace
(``build_alerting_secret``), which the reconcile fills from the store's Vault
keys; in the plain file they are files. No I/O: the configurations are plain
data.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from productstore_operator.builders.meta import labels
from productstore_operator.builders.naming import StoreRef
from productstore_operator.builders.settings import AlertingSettings
from productstore_operator.models import ProductStoreSpec

# Labels notifications are grouped by (and inhibition compares): one
# notification per service of a store, whatever the number of alerts.
GROUP_BY: Final = ("namespace", "store", "service")
SEVERITIES: Final = ("critical", "warning")
# A receiver without integrations: where alerts that no receiver wants end.
NONE_RECEIVER: Final = "none"
# The keys of the Secret (in the store's namespace) that Prometheus Operator reads the
# receivers' credentials from.
SLACK_SECRET_KEY: Final = "slackWebhookUrl"  # noqa: S105 - a key's name, not a secret
TELEGRAM_SECRET_KEY: Final = "telegramBotToken"  # noqa: S105 - a key's name, not a secret
# The fields of the store's Vault keys (observability.alerting.<receiver>.vaultKey).
SLACK_VAULT_FIELD: Final = "webhookUrl"
TELEGRAM_VAULT_FIELD: Final = "botToken"
# One line per alert (Slack's title already says firing or resolved, and how many).
_ALERT_LINES = (
    "{{ range .Alerts }}{{ .Annotations.summary }}\n"
    "{{ if .Annotations.runbook_url }}Runbook: {{ .Annotations.runbook_url }}\n{{ end }}{{ end }}"
)
SLACK_TEXT: Final = _ALERT_LINES
# Telegram has no title: the first line says what Slack's does.
TELEGRAM_MESSAGE: Final = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
    "{{ .CommonLabels.store }} {{ .CommonLabels.service }}\n" + _ALERT_LINES
)


@dataclass(frozen=True)
class Route:
    """Alerts of these severities go to receiver; continue_: later routes see them too."""

    receiver: str
    severities: tuple[str, ...]
    continue_: bool


@dataclass(frozen=True)
class AlertRouting:
    """The store's receivers and the routes to them, in order."""

    receivers: tuple[str, ...]
    routes: tuple[Route, ...]


def alert_routing(spec: ProductStoreSpec) -> AlertRouting | None:
    """The routing of the store's receivers; None when it names none."""
    alerting = spec.observability.alerting
    routes: list[Route] = []
    if alerting.telegram is not None:
        # Continue: a critical alert reaches Slack as well.
        routes.append(Route("telegram", ("critical",), continue_=alerting.slack is not None))
    if alerting.slack is not None:
        routes.append(Route("slack", SEVERITIES, continue_=False))
    if not routes:
        return None
    return AlertRouting(tuple(route.receiver for route in routes), tuple(routes))


def alerting_secret_name(store: StoreRef) -> str:
    """The Secret holding the receivers' credentials (SLACK_SECRET_KEY, TELEGRAM_SECRET_KEY)."""
    return f"{store.name}-alerting"


def build_alerting_secret(store: StoreRef, values: Mapping[str, str]) -> dict[str, Any]:
    """The Secret the AlertmanagerConfig's receivers read (Slack's ``apiURL``, Telegram's
    ``botToken``): ``values`` by Secret key, from the store's Vault keys; the reconcile
    adds the owner reference (it needs the store's uid)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": alerting_secret_name(store),
            "namespace": store.namespace,
            "labels": labels(store, "alerting"),
        },
        "type": "Opaque",
        "data": {
            key: base64.b64encode(value.encode()).decode() for key, value in sorted(values.items())
        },
    }


def _severity_matcher(route: Route) -> tuple[str, str]:
    if len(route.severities) == 1:
        return "=", route.severities[0]
    return "=~", "|".join(route.severities)


# --- the AlertmanagerConfig ------------------------------------------------


def _matcher(name: str, match_type: str, value: str) -> dict[str, str]:
    # Equality is the default: no matchType "=", which YAML 1.1 readers (PyYAML) take
    # for the value tag once helm writes it unquoted.
    if match_type == "=":
        return {"name": name, "value": value}
    return {"name": name, "matchType": match_type, "value": value}


def build_alertmanager_config(
    spec: ProductStoreSpec, store: StoreRef, settings: AlertingSettings
) -> dict[str, Any] | None:
    """The store's AlertmanagerConfig ``spec``; None when it names no receiver."""
    routing = alert_routing(spec)
    if routing is None:
        return None
    alerting = spec.observability.alerting
    receivers: list[dict[str, Any]] = [{"name": NONE_RECEIVER}]
    if alerting.telegram is not None:
        telegram: dict[str, Any] = {
            "botToken": {"name": alerting_secret_name(store), "key": TELEGRAM_SECRET_KEY},
            "chatID": alerting.telegram.chat_id,
            "sendResolved": True,
            "message": TELEGRAM_MESSAGE,
        }
        if settings.telegram_api_url is not None:
            telegram["apiURL"] = settings.telegram_api_url
        receivers.append({"name": "telegram", "telegramConfigs": [telegram]})
    if alerting.slack is not None:
        slack: dict[str, Any] = {
            "apiURL": {"name": alerting_secret_name(store), "key": SLACK_SECRET_KEY},
            "sendResolved": True,
            "text": SLACK_TEXT,
        }
        if alerting.slack.channel is not None:
            slack["channel"] = alerting.slack.channel
        receivers.append({"name": "slack", "slackConfigs": [slack]})
    store_matcher = _matcher("store", "=", store.name)
    return {
        "route": {
            "receiver": NONE_RECEIVER,
            # Prometheus Operator adds namespace="<the store's>" to this route.
            "matchers": [store_matcher],
            "groupBy": list(GROUP_BY),
            "groupWait": settings.group_wait,
            "groupInterval": settings.group_interval,
            "repeatInterval": settings.repeat_interval,
            "routes": [
                {
                    "receiver": route.receiver,
                    "matchers": [_matcher("severity", *_severity_matcher(route))],
                    "continue": route.continue_,
                }
                for route in routing.routes
            ],
        },
        "receivers": receivers,
        "inhibitRules": [
            {
                "sourceMatch": [_matcher("severity", "=", "critical"), store_matcher],
                "targetMatch": [_matcher("severity", "=", "warning"), store_matcher],
                "equal": list(GROUP_BY),
            }
        ],
    }


# --- a plain Alertmanager configuration ---------------------------------------


@dataclass(frozen=True)
class ReceiverFiles:
    """Where a plain Alertmanager reads the receivers' credentials from."""

    slack_api_url_file: str
    telegram_bot_token_file: str


def _matchers(**labels: str) -> list[str]:
    return [f'{name}="{value}"' for name, value in labels.items()]


def build_alertmanager_file(
    spec: ProductStoreSpec,
    store: StoreRef,
    settings: AlertingSettings,
    files: ReceiverFiles,
) -> dict[str, Any]:
    """A whole Alertmanager configuration that notifies the store's receivers.

    Receivers are named ``<namespace>/<store>/<receiver>``, as Prometheus
    Operator names an AlertmanagerConfig's. Without receivers, alerts go nowhere.
    """
    prefix = f"{store.namespace}/{store.name}"
    routing = alert_routing(spec)
    none = f"{prefix}/{NONE_RECEIVER}"
    receivers: list[dict[str, Any]] = [{"name": none}]
    routes: list[dict[str, Any]] = []
    alerting = spec.observability.alerting
    if routing is not None:
        for route in routing.routes:
            match_type, value = _severity_matcher(route)
            routes.append(
                {
                    "receiver": f"{prefix}/{route.receiver}",
                    "matchers": [f'severity{match_type}"{value}"'],
                    "continue": route.continue_,
                }
            )
        if alerting.telegram is not None:
            telegram: dict[str, Any] = {
                "bot_token_file": files.telegram_bot_token_file,
                "chat_id": alerting.telegram.chat_id,
                "send_resolved": True,
                "message": TELEGRAM_MESSAGE,
            }
            if settings.telegram_api_url is not None:
                telegram["api_url"] = settings.telegram_api_url
            receivers.append({"name": f"{prefix}/telegram", "telegram_configs": [telegram]})
        if alerting.slack is not None:
            slack: dict[str, Any] = {
                "api_url_file": files.slack_api_url_file,
                "send_resolved": True,
                "text": SLACK_TEXT,
            }
            if alerting.slack.channel is not None:
                slack["channel"] = alerting.slack.channel
            receivers.append({"name": f"{prefix}/slack", "slack_configs": [slack]})
    store_matchers = _matchers(namespace=store.namespace, store=store.name)
    return {
        "route": {
            "receiver": none,
            "group_by": list(GROUP_BY),
            "group_wait": settings.group_wait,
            "group_interval": settings.group_interval,
            "repeat_interval": settings.repeat_interval,
            "routes": [{"receiver": none, "matchers": store_matchers, "routes": routes}],
        },
        "receivers": receivers,
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"', *store_matchers],
                "target_matchers": ['severity="warning"', *store_matchers],
                "equal": list(GROUP_BY),
            }
        ],
    }
