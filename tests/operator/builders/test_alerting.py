"""builders.alerting: a table of receiver specs, each written as an AlertmanagerConfig
(checked against Prometheus Operator's CRD schema) and as a plain configuration
(checked, and its routes tested, by amtool of devstack's Alertmanager build)."""

from __future__ import annotations

import base64
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from devstack import toolchains
from devstack.components.alertmanager import Alertmanager
from devstack.components.kube import PROMETHEUS_OPERATOR_VERSION
from productstore_operator.builders import (
    AlertingSettings,
    StoreRef,
    build_alertmanager_config,
    build_alertmanager_file,
)
from productstore_operator.builders.alerting import (
    SLACK_SECRET_KEY,
    TELEGRAM_SECRET_KEY,
    ReceiverFiles,
    alerting_secret_name,
    build_alerting_secret,
)
from productstore_operator.models import ProductStoreSpec
from tests.operator.builders.support import NAMESPACE, spec

SHOP = StoreRef("shop", NAMESPACE)
SETTINGS = AlertingSettings()
SLACK = {"vaultKey": "alerting/slack"}
TELEGRAM = {"vaultKey": "alerting/telegram", "chatId": -100123}
FILES = ReceiverFiles("/run/secrets/slack-url", "/run/secrets/telegram-token")

# (id, alerting, receivers a critical alert reaches, receivers a warning reaches)
CASES: list[tuple[str, dict[str, Any], list[str], list[str]]] = [
    ("none", {}, ["none"], ["none"]),
    ("slack-only", {"slack": SLACK}, ["slack"], ["slack"]),
    ("telegram-only", {"telegram": TELEGRAM}, ["telegram"], ["none"]),
    ("both", {"slack": SLACK, "telegram": TELEGRAM}, ["telegram", "slack"], ["slack"]),
    (
        "slack-channel",
        {"slack": {**SLACK, "channel": "#shop-alerts"}, "telegram": TELEGRAM},
        ["telegram", "slack"],
        ["slack"],
    ),
]
IDS = [case[0] for case in CASES]


def _spec(alerting: dict[str, Any]) -> ProductStoreSpec:
    return spec({"observability.alerting": alerting})


@cache
def _crd_schema() -> dict[str, Any]:
    module = toolchains.go_mod_download_dir(
        "tests",
        f"github.com/prometheus-operator/prometheus-operator@{PROMETHEUS_OPERATOR_VERSION}",
        log_file=Path("/dev/null"),
        work_dir=Path.cwd(),
    )
    path = module / "example/prometheus-operator-crd/monitoring.coreos.com_alertmanagerconfigs.yaml"

    class Loader(yaml.SafeLoader):
        pass

    def scalar(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        assert isinstance(node, yaml.ScalarNode)
        return loader.construct_scalar(node)

    # The CRD's enums hold a bare "=", which YAML 1.1 reads as the value tag.
    Loader.add_constructor("tag:yaml.org,2002:value", scalar)
    crd = yaml.load(path.read_text(), Loader=Loader)  # noqa: S506 - SafeLoader with one more tag
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def _unknown_fields(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Fields the schema does not declare: the apiserver's strict validation refuses them
    (JSON Schema alone lets them through, the CRD sets no additionalProperties)."""
    if isinstance(value, dict) and "properties" in schema:
        found = [f"{path}.{key}" for key in value if key not in schema["properties"]]
        for key, item in value.items():
            if key in schema["properties"]:
                found += _unknown_fields(item, schema["properties"][key], f"{path}.{key}")
        return found
    if isinstance(value, list) and "items" in schema:
        return [
            f
            for i, item in enumerate(value)
            for f in _unknown_fields(item, schema["items"], f"{path}[{i}]")
        ]
    return []


@pytest.mark.parametrize(("id_", "alerting", "critical", "warning"), CASES, ids=IDS)
def test_alertmanager_config_is_valid_for_the_crd(
    id_: str, alerting: dict[str, Any], critical: list[str], warning: list[str]
) -> None:
    config = build_alertmanager_config(_spec(alerting), SHOP, SETTINGS)
    if not alerting:
        assert config is None
        return
    assert config is not None
    document = {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": {"name": SHOP.name, "namespace": SHOP.namespace},
        "spec": config,
    }
    jsonschema.Draft7Validator(_crd_schema()).validate(document)
    assert _unknown_fields(config, _crd_schema()["properties"]["spec"]) == []
    names = {receiver["name"] for receiver in config["receivers"]}
    assert {config["route"]["receiver"]} | {
        r["receiver"] for r in config["route"]["routes"]
    } <= names


def test_alertmanager_config_holds_no_secret_only_where_alertmanager_reads_them() -> None:
    config = build_alertmanager_config(
        _spec({"slack": {**SLACK, "channel": "#ops"}, "telegram": TELEGRAM}),
        SHOP,
        AlertingSettings(telegram_api_url="http://tg:8080"),
    )
    assert config is not None
    receivers = {r["name"]: r for r in config["receivers"]}
    (telegram,) = receivers["telegram"]["telegramConfigs"]
    assert telegram["botToken"] == {"name": "shop-alerting", "key": "telegramBotToken"}
    assert (telegram["chatID"], telegram["apiURL"], telegram["sendResolved"]) == (
        -100123, "http://tg:8080", True,
    )  # fmt: skip
    (slack,) = receivers["slack"]["slackConfigs"]
    assert slack["apiURL"] == {"name": "shop-alerting", "key": "slackWebhookUrl"}
    assert (slack["channel"], slack["sendResolved"]) == ("#ops", True)
    # Grouped by store and service; Prometheus Operator adds the namespace matcher.
    assert config["route"]["groupBy"] == ["namespace", "store", "service"]
    assert config["route"]["matchers"] == [{"name": "store", "value": "shop"}]
    (inhibit,) = config["inhibitRules"]
    assert inhibit["equal"] == ["namespace", "store", "service"]
    assert {"name": "severity", "value": "critical"} in inhibit["sourceMatch"]
    assert {"name": "severity", "value": "warning"} in inhibit["targetMatch"]
    routes = {r["receiver"]: r for r in config["route"]["routes"]}
    assert routes["telegram"]["matchers"] == [{"name": "severity", "value": "critical"}]
    assert routes["telegram"]["continue"] is True
    assert routes["slack"]["matchers"] == [
        {"name": "severity", "matchType": "=~", "value": "critical|warning"}
    ]


def test_the_secret_is_the_one_the_alertmanager_config_names() -> None:
    config = build_alertmanager_config(
        _spec({"slack": SLACK, "telegram": TELEGRAM}), SHOP, SETTINGS
    )
    assert config is not None
    receivers = {r["name"]: r for r in config["receivers"]}
    (slack,) = receivers["slack"]["slackConfigs"]
    (telegram,) = receivers["telegram"]["telegramConfigs"]
    url = "https://hooks.slack.example/services/T0/B0/xyz"
    token = "123456:telegram-token"
    secret = build_alerting_secret(SHOP, {SLACK_SECRET_KEY: url, TELEGRAM_SECRET_KEY: token})
    for selector in (slack["apiURL"], telegram["botToken"]):
        assert (secret["metadata"]["name"], secret["metadata"]["namespace"]) == (
            selector["name"], SHOP.namespace,
        )  # fmt: skip
    assert base64.b64decode(secret["data"][slack["apiURL"]["key"]]).decode() == url
    assert base64.b64decode(secret["data"][telegram["botToken"]["key"]]).decode() == token
    assert secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "productstore-operator"
    assert secret["metadata"]["labels"]["app.kubernetes.io/instance"] == SHOP.name


def test_the_secret_is_per_store() -> None:
    other = StoreRef("shop", "other-ns")
    assert alerting_secret_name(SHOP) == alerting_secret_name(other) == "shop-alerting"
    first = build_alerting_secret(SHOP, {SLACK_SECRET_KEY: "u"})["metadata"]
    second = build_alerting_secret(other, {SLACK_SECRET_KEY: "u"})["metadata"]
    assert first["namespace"] != second["namespace"]


def _amtool(amtool: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(amtool), *args], capture_output=True, text=True, check=False, timeout=60
    )


def _routes_to(amtool: Path, config: Path, **labels: str) -> list[str]:
    result = _amtool(
        amtool, "config", "routes", "test", f"--config.file={config}",
        *(f"{name}={value}" for name, value in labels.items()),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    prefix = f"{SHOP.namespace}/{SHOP.name}/"
    return [name.removeprefix(prefix) for name in result.stdout.strip().split(",")]


@pytest.mark.parametrize(("id_", "alerting", "critical", "warning"), CASES, ids=IDS)
def test_plain_configuration_passes_amtool_and_routes_by_severity(  # noqa: PLR0917
    id_: str,
    alerting: dict[str, Any],
    critical: list[str],
    warning: list[str],
    alertmanager_build: Alertmanager,
    tmp_path: Path,
) -> None:
    config = tmp_path / "alertmanager.yml"
    document = build_alertmanager_file(_spec(alerting), SHOP, SETTINGS, FILES)
    config.write_text(yaml.safe_dump(document))
    check = _amtool(alertmanager_build.amtool, "check-config", str(config))
    assert check.returncode == 0, check.stdout + check.stderr
    amtool = alertmanager_build.amtool
    store = {"namespace": SHOP.namespace, "store": SHOP.name, "service": "catalog"}
    assert _routes_to(amtool, config, severity="critical", **store) == critical
    assert _routes_to(amtool, config, severity="warning", **store) == warning
    # Another store's alerts, or another namespace's store of the same name: not ours.
    for stranger in ({**store, "store": "other"}, {**store, "namespace": "other-ns"}):
        assert _routes_to(amtool, config, severity="critical", **stranger) == ["none"]
