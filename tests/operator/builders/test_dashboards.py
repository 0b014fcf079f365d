"""The dashboard builder: which dashboards a store gets, that each is a well-formed
Grafana model (ids, uids, variables, data source), and that every query names a
metric the code exports or a recording rule the operator writes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from productstore_contracts.services import DESCRIPTORS
from productstore_operator.builders import StoreRef, build_rule_groups
from productstore_operator.builders.dashboards import (
    UID_LENGTH,
    build_dashboards,
    dashboard_files,
)
from productstore_operator.models import ProductStoreSpec
from tests.operator.builders.dashboard_queries import (
    exported_metrics,
    is_exported,
    jmx_exporter_names,
    metric_names,
    panel_queries,
    server_variables,
)
from tests.operator.spec_cases import spec_with

STORE = StoreRef("shop", "shop-ns")
STORE_WIDE = ("overview", "business", "inventory", "cassandra", "kafka", "operator")


def _spec(changes: dict[str, Any] | None = None) -> ProductStoreSpec:
    return ProductStoreSpec.model_validate(spec_with(changes or {}))


def _dashboards(changes: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return build_dashboards(_spec(changes), STORE)


@pytest.mark.parametrize(
    "disabled",
    [(), ("reviews",), ("reviews", "orders")],
    ids=["default", "no-reviews", "no-orders-no-reviews"],
)
def test_a_red_dashboard_per_enabled_service_beside_the_store_wide_ones(
    disabled: tuple[str, ...],
) -> None:
    names = set(_dashboards({f"services.{name}.enabled": False for name in disabled}))
    services = [d.name for d in DESCRIPTORS if d.name not in disabled]
    assert names == {f"{n}.json" for n in STORE_WIDE} | {f"service-{s}.json" for s in services}
    assert len(names) >= 7


def test_panel_ids_are_unique_and_every_panel_is_on_the_grid() -> None:
    for name, model in _dashboards().items():
        ids = [panel["id"] for panel in model["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in model["panels"]:
            grid = panel["gridPos"]
            assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= 24, (name, panel)


def test_uids_are_unique_short_and_differ_between_stores() -> None:
    here = _dashboards()
    there = build_dashboards(_spec(), StoreRef("shop", "other-ns"))
    uids = [model["uid"] for model in here.values()]
    assert len(uids) == len(set(uids))
    assert all(len(uid) <= UID_LENGTH for uid in uids)
    assert not set(uids) & {model["uid"] for model in there.values()}


def test_every_panel_and_query_reads_the_datasource_variable() -> None:
    for name, model in _dashboards().items():
        variables = {v["name"]: v for v in model["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource", name
        assert variables["datasource"]["query"] == "prometheus", name
        for panel in model["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}"


def test_store_variables_default_to_the_store_and_every_store_query_uses_them() -> None:
    for name, model in _dashboards().items():
        variables = {v["name"]: v for v in model["templating"]["list"]}
        if name == "operator.json":
            # The operator serves every store: its series carry no store label.
            assert set(variables) == {"datasource"}
            continue
        assert variables["namespace"]["current"]["value"] == STORE.namespace
        assert variables["store"]["current"]["value"] == STORE.name
        servers = server_variables(model)
        for title, expr in panel_queries(model):
            # A server's series (Cassandra's, Kafka's own) carry its scrape job instead.
            by_store = 'namespace="$namespace"' in expr and 'store="$store"' in expr
            by_server = [job for job in servers if f'job="${job}"' in expr]
            assert by_store != bool(by_server), (name, title, expr)


def test_the_server_boards_choose_their_exporter_job_defaulting_to_devstack() -> None:
    dashboards = _dashboards()
    assert server_variables(dashboards["cassandra.json"]) == {"cassandra_job": "cassandra"}
    assert server_variables(dashboards["kafka.json"]) == {"kafka_job": "kafka"}
    for name, model in dashboards.items():
        if name not in {"cassandra.json", "kafka.json"}:
            assert not server_variables(model), name


def test_every_query_names_a_metric_the_code_exports_or_a_rule_records() -> None:
    recorded = {
        rule["record"]
        for group in build_rule_groups(_spec(), STORE)
        for rule in group["rules"]
        if "record" in rule
    }
    known, jmx = exported_metrics() | recorded, jmx_exporter_names()
    queries = [q for model in _dashboards().values() for q in panel_queries(model)]
    assert len(queries) > 100
    for title, expr in queries:
        names = metric_names(expr)
        assert names, (title, expr)
        assert {n for n in names if not is_exported(n, known, jmx)} == set(), (title, names)


@pytest.mark.parametrize(
    ("name", "exported"),
    [
        ("kafka_server_bytesin_total", True),
        ("cassandra_compaction_pendingtasks", True),
        ("cassandra_client_request_latency_seconds_count", True),
        ("cassandra_client_request_latency_seconds_count_total", False),
        ("cassandra_client_request_timeouts_total", True),  # a capture: one lowercased word
        ("kafka_network_request_seconds_sum", False),  # no rule writes the sum
        ("cassandra_table_read_latency", False),
    ],
)
def test_the_jmx_exporter_names_are_the_rules_names(name: str, exported: bool) -> None:
    assert is_exported(name, set(), jmx_exporter_names()) is exported


def test_the_chart_gets_the_same_dashboards_as_stable_json() -> None:
    files = dashboard_files(_spec(), STORE)
    assert {name: json.loads(text) for name, text in files.items()} == _dashboards()
    assert dashboard_files(_spec(), STORE) == files


def test_the_top_searches_without_results_are_a_table_of_the_bounded_gauge_now() -> None:
    (panel,) = [p for p in _dashboards()["business.json"]["panels"] if p["type"] == "table"]
    (target,) = panel["targets"]
    # One value per series now, not a range: a table row per query.
    assert target["instant"] is True and target["format"] == "table"
    assert target["expr"].startswith("topk(10, max by (query) (catalog_search_no_results_top{")
    (organize,) = panel["transformations"]
    assert organize["options"]["renameByName"] == {"query": "Words searched", "Value": "Searches"}
    assert organize["options"]["excludeByName"] == {"Time": True}
    assert panel["options"]["sortBy"] == [{"desc": True, "displayName": "Searches"}]
