"""The rule builder as a table: which objectives become rules, with which numbers,
and that every alert links a runbook that exists and says what it must."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest

from productstore_contracts.services import DESCRIPTORS
from productstore_operator.builders import StoreRef
from productstore_operator.builders.rules import (
    ALERT_NAMES,
    SLI_WINDOWS,
    build_rule_groups,
)
from productstore_operator.models import ProductStoreSpec
from productstore_operator.models.observability import LATENCY_THRESHOLDS_MS, LatencyThreshold
from tests.operator.spec_cases import spec_with

RUNBOOKS = Path(__file__).resolve().parents[3] / "docs" / "runbooks"
STORE = StoreRef("shop", "shop-ns")


def _groups(changes: dict[str, Any]) -> list[dict[str, Any]]:
    return build_rule_groups(ProductStoreSpec.model_validate(spec_with(changes)), STORE)


def _rules(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for group in groups for rule in group["rules"]]


def _objectives(groups: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (rule["labels"]["service"], rule["labels"]["slo"])
        for rule in _rules(groups)
        if rule.get("record") == "slo:objective:ratio"
    }


# Every built service is on by default, so each has both objectives.
BUILT = tuple(d.name for d in DESCRIPTORS)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {},
            {(s, k) for s in BUILT for k in ("availability", "latency")},
        ),
        (
            {"observability.slos.auth.latency.enabled": False},
            {(s, k) for s in BUILT for k in ("availability", "latency")} - {("auth", "latency")},
        ),
        # A disabled service has no rules, whatever its objectives say.
        (
            {
                "services.inventory.enabled": False,
                "observability.slos.inventory.availability.objective": 99,
            },
            {(s, k) for s in BUILT if s != "inventory" for k in ("availability", "latency")},
        ),
    ],
    ids=["defaults", "one-objective-off", "service-disabled"],
)
def test_objectives_of_enabled_services(
    changes: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    assert _objectives(_groups(changes)) == expected


@pytest.mark.parametrize(
    ("slo", "objective", "budget", "le"),
    [
        ({"availability": {"objective": 99.9}}, "0.999", "0.001", None),
        ({"availability": {"objective": 99.95}}, "0.9995", "0.0005", None),
        ({"availability": {"objective": 95}}, "0.95", "0.05", None),
        ({"latency": {"objective": 99}}, "0.99", "0.01", "0.2"),
        ({"latency": {"objective": 99.5, "thresholdMilliseconds": 1000}}, "0.995", "0.005", "1.0"),
        ({"latency": {"objective": 90, "thresholdMilliseconds": 25}}, "0.9", "0.1", "0.025"),
    ],
)
def test_numbers_in_the_rules(
    slo: dict[str, Any], objective: str, budget: str, le: str | None
) -> None:
    kind = next(iter(slo))
    groups = _groups({"observability.slos.catalog": slo})
    mine = [
        r
        for r in _rules(groups)
        if r["labels"].get("service") == "catalog" and r["labels"].get("slo") == kind
    ]
    by_record = {r["record"]: r["expr"] for r in mine if "record" in r}
    assert by_record["slo:objective:ratio"] == f"vector({objective})"
    assert by_record["slo:error_budget:ratio"] == f"vector({budget})"
    assert set(by_record) >= {f"slo:sli_error:ratio_rate{w}" for w in (*SLI_WINDOWS, "30d")}
    assert by_record["slo:period_error_budget_remaining:ratio"].startswith(
        "1 - slo:period_burn_rate:ratio{"
    )
    for window in SLI_WINDOWS:
        expr = by_record[f"slo:sli_error:ratio_rate{window}"]
        assert (
            f"[{window}]" in expr and 'namespace="shop-ns", store="shop", service="catalog"' in expr
        )
        assert ('le="' in expr) == (le is not None)
        if le is not None:
            assert f'le="{le}"' in expr and 'method=~"GET|HEAD"' in expr
    alerts = {r["alert"]: r for r in mine if "alert" in r}
    factors = {
        "SLOErrorBudgetBurn1h": "14.4",
        "SLOErrorBudgetBurn6h": "6",
        "SLOErrorBudgetBurn1d": "3",
        "SLOErrorBudgetBurn3d": "1",
    }
    assert set(alerts) == set(factors)
    for name, factor in factors.items():
        assert alerts[name]["expr"].count(f"> ({factor} * {budget})") == 2


def test_every_alert_has_labels_and_a_runbook() -> None:
    rules = [r for r in _rules(_groups({})) if "alert" in r]
    assert {r["alert"] for r in rules} == set(ALERT_NAMES)
    for rule in rules:
        assert {"namespace", "store", "severity"} <= set(rule["labels"]), rule
        assert rule["labels"]["severity"] in ("critical", "warning")
        url = rule["annotations"]["runbook_url"]
        assert url.endswith(f"/docs/runbooks/{rule['alert']}.md")


@pytest.mark.parametrize("alert", ALERT_NAMES)
def test_runbook_says_what_how_to_confirm_and_fix(alert: str) -> None:
    text = (RUNBOOKS / f"{alert}.md").read_text()
    for heading in ("## What it means", "## How to confirm", "## How to fix"):
        assert heading in text, f"{alert}.md lacks {heading!r}"
    assert f"[{alert}]({alert}.md)" in (RUNBOOKS / "README.md").read_text()


def test_runbook_base_url_is_the_callers() -> None:
    groups = build_rule_groups(
        ProductStoreSpec.model_validate(spec_with({})),
        STORE,
        runbook_base_url="https://wiki.example/rb/",
    )
    urls = {r["annotations"]["runbook_url"] for r in _rules(groups) if "alert" in r}
    assert urls == {f"https://wiki.example/rb/{name}.md" for name in ALERT_NAMES}


def test_stores_do_not_share_series() -> None:
    other = build_rule_groups(
        ProductStoreSpec.model_validate(spec_with({})), StoreRef("shop", "other-ns")
    )
    assert all(
        'namespace="other-ns", store="shop"' in r["expr"]
        for r in _rules(other)
        if "vector(" not in r["expr"]
    )


def test_latency_thresholds_are_the_histograms_bounds() -> None:
    assert get_args(LatencyThreshold) == LATENCY_THRESHOLDS_MS
