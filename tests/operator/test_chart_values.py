"""The chart defaults generated from the ProductStore models: committed, refused
when a block is missing, and the same store with helm alone as with the operator
(both rendered by the real helm)."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from devstack.components.helm import Helm
from productstore_operator import chart_values
from productstore_operator.builders import StoreRef, build_release_values
from productstore_operator.chart_values import (
    BEGIN,
    END,
    ChartValuesError,
    Key,
    blocks,
    render_values,
)
from productstore_operator.models import SERVICE_NAMES, ServiceSpec
from tests.operator.builders.support import (
    CHART,
    NAMESPACE,
    SETTINGS,
    chart_defaults,
    coalesce,
    render,
    spec,
)
from tests.support.helm import HelmCli

FILES = ("values.yaml", "values.schema.json")
STALE = "is stale: run `make chart-defaults` (or `make crds`) and commit the result"
SHOP = StoreRef("shop", NAMESPACE)

# --- generation (no helm) ----------------------------------------------------


def test_committed_chart_files_are_generated_from_the_models() -> None:
    generated = chart_values.render(CHART)
    assert set(generated) == {CHART / name for name in FILES}
    for path, text in generated.items():
        assert path.read_text() == text, f"charts/productstore/{path.name} {STALE}"


def test_module_rewrites_stale_files(tmp_path: Path) -> None:
    for name in FILES:
        shutil.copy(CHART / name, tmp_path / name)
    values = tmp_path / "values.yaml"
    # The drift issue 9 found: the chart's own numbers beside the operator's.
    values.write_text(values.read_text().replace("maxReplicas: 5", "maxReplicas: 10"))
    schema = tmp_path / "values.schema.json"
    schema.write_text(schema.read_text().replace('"maximum": 1000,', '"maximum": 7,'))
    assert chart_values.main(["--chart", str(tmp_path)]) == 0
    for name in FILES:
        assert (tmp_path / name).read_text() == (CHART / name).read_text()


def _drop_first_block(text: str) -> str:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == BEGIN)
    end = next(i for i, line in enumerate(lines) if i > start and line.strip() == END)
    return "\n".join(lines[:start] + lines[end + 1 :])


def _unterminated(text: str) -> str:
    head, _, tail = text.rpartition(END)
    return head + "# (end marker removed)" + tail


def _twice(text: str) -> str:
    return text.replace("serviceDefaults:\n", f"serviceDefaults:\n  {BEGIN}\n  {END}\n", 1)


def _stray(text: str) -> str:
    return text.replace("gateway:\n", f"gateway:\n  {BEGIN}\n  {END}\n", 1)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_drop_first_block, "no generated block under serviceDefaults: add a"),
        (_unterminated, "the block under 'istio.traffic.outlierDetection' has no '# </generated>'"),
        (_twice, "unexpected generated block under 'serviceDefaults'"),
        (_stray, "unexpected generated block under 'gateway'"),
    ],
    ids=["missing", "unterminated", "twice", "stray"],
)
def test_values_yaml_without_its_blocks_is_refused(
    edit: Callable[[str], str], message: str
) -> None:
    text = (CHART / "values.yaml").read_text()
    with pytest.raises(ChartValuesError, match=message):
        render_values(edit(text), blocks())


class _Undescribed(BaseModel):
    value: int = 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        # A key the builders write that no model field or chart note explains.
        (
            lambda: chart_values._keys({"bogus": 1}, ServiceSpec, "serviceDefaults"),
            "serviceDefaults.bogus: neither a model field nor described",
        ),
        (
            lambda: chart_values._keys({"value": 1}, _Undescribed, "x"),
            "x.value: the field needs a description",
        ),
        (
            lambda: chart_values._draft7(
                {"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, "y"
            ),
            r"y: no draft-07 form for \['anyOf'\]",
        ),
    ],
    ids=["unknown-key", "undescribed-field", "union"],
)
def test_generator_refuses_what_it_cannot_describe(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ChartValuesError, match=message):
        make()


def _only(shape: Any, values: Any) -> Any:
    """``values`` restricted to the keys of ``shape``, recursively."""
    if not isinstance(shape, dict):
        return values
    return {key: _only(sub, values[key]) for key, sub in shape.items() if key in values}


def test_chart_defaults_are_the_operator_defaults() -> None:
    chart = chart_defaults()
    operator = build_release_values(spec({}), SHOP, SETTINGS)
    for name in SERVICE_NAMES:
        service = coalesce(chart["serviceDefaults"], chart["services"][name])
        for key in ("enabled", "replicas", "resources", "autoscaling", "pdb"):
            assert service[key] == operator["services"][name][key], (name, key)
    traffic = operator["istio"]["traffic"]
    assert _only(traffic, chart["istio"]["traffic"]) == traffic


# --- helm alone vs the operator (real helm) ---------------------------------


def _drop(values: dict[str, Any], path: list[str]) -> None:
    node: Any = values
    for key in path[:-1]:
        node = node.get(key, {})
    node.pop(path[-1], None)


def helm_alone(operator: dict[str, Any]) -> dict[str, Any]:
    """The operator's values without every key the chart's generated blocks
    hold: what a helm user passes for the same store (where Cassandra, Kafka,
    Redis and Vault are, the callers, whether Istio runs: the chart cannot
    default those), leaving the rest to values.yaml."""
    values = copy.deepcopy(operator)
    for block in blocks():
        parent = block.parent.split(".")
        if parent == ["serviceDefaults"]:
            for name in SERVICE_NAMES:
                _drop_generated(values, ["services", name], block.keys)
        _drop_generated(values, parent, block.keys)
    return values


def _drop_generated(values: dict[str, Any], path: list[str], keys: tuple[Key, ...]) -> None:
    # Leaves only: a generated mapping (services.<name>) also holds keys the
    # chart cannot default, such as a service's replicas.
    for key in keys:
        if key.children:
            _drop_generated(values, [*path, key.name], key.children)
        else:
            _drop(values, [*path, key.name])


def _differences(
    one: dict[tuple[str, str], Any], other: dict[tuple[str, str], Any]
) -> list[tuple[str, str]]:
    return sorted(key for key in one.keys() | other.keys() if one.get(key) != other.get(key))


def _render_both(
    helm: HelmCli, operator: dict[str, Any], alone: dict[str, Any], tmp_path: Path
) -> tuple[dict[tuple[str, str], Any], dict[tuple[str, str], Any]]:
    rendered = []
    for name, values in (("operator", operator), ("alone", alone)):
        (tmp_path / name).mkdir()
        rendered.append(render(helm, values, SHOP, tmp_path / name))
    return rendered[0], rendered[1]


@pytest.fixture(scope="module")
def offline_helm(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> HelmCli:
    return HelmCli(helm, tmp_path_factory.mktemp("helm-home"))


# (id, the spec's changes, the same choice as chart values)
SAME_STORE = [
    ("default", {}, {}),
    (
        "autoscaling",
        {"services.catalog.autoscaling.enabled": True},
        {"services": {"catalog": {"autoscaling": {"enabled": True}}}},
    ),
]


@pytest.mark.parametrize(
    ("changes", "chart_changes"),
    [case[1:] for case in SAME_STORE],
    ids=[case[0] for case in SAME_STORE],
)
def test_helm_alone_renders_the_store_the_operator_renders(
    changes: dict[str, Any],
    chart_changes: dict[str, Any],
    offline_helm: HelmCli,
    tmp_path: Path,
) -> None:
    operator_values = build_release_values(spec(changes), SHOP, SETTINGS)
    alone_values = coalesce(helm_alone(operator_values), chart_changes)
    # The generated keys really are left to the chart's defaults.
    assert "replicas" not in alone_values["services"]["catalog"]
    assert "timeout" not in alone_values["istio"]["traffic"]
    by_operator, alone = _render_both(offline_helm, operator_values, alone_values, tmp_path)
    kinds = {kind for kind, _ in by_operator}
    assert {"Deployment", "PodDisruptionBudget", "DestinationRule", "VirtualService"} <= kinds
    assert (("HorizontalPodAutoscaler", "shop-catalog") in by_operator) == bool(changes)
    assert _differences(by_operator, alone) == []


# The drifts issue 9 found, each one shown by the comparison above.
DRIFTS = [
    (
        "maxReplicas",
        # autoscaling on in both, as the spec asks; only maxReplicas left to the chart
        {"serviceDefaults": {"autoscaling": {"enabled": True, "maxReplicas": 10}}},
        {f"services.{name}.autoscaling.enabled": True for name in ("auth", "catalog")},
        ("HorizontalPodAutoscaler", "shop-catalog"),
    ),
    (
        "memory",
        {"serviceDefaults": {"resources": {"requests": {"memory": "128Mi"}}}},
        {},
        ("Deployment", "shop-catalog"),
    ),
    (
        "perTryTimeout",
        {"istio": {"traffic": {"retries": {"perTryTimeout": "2s"}}}},
        {},
        ("VirtualService", "shop-catalog"),
    ),
    (
        "maxConnections",
        {"istio": {"traffic": {"connectionPool": {"maxConnections": 100}}}},
        {},
        ("DestinationRule", "shop-catalog"),
    ),
]


@pytest.mark.parametrize(
    ("drift", "changes", "differs"),
    [case[1:] for case in DRIFTS],
    ids=[case[0] for case in DRIFTS],
)
def test_a_drifted_chart_default_is_a_different_store(
    drift: dict[str, Any],
    changes: dict[str, Any],
    differs: tuple[str, str],
    offline_helm: HelmCli,
    tmp_path: Path,
) -> None:
    operator_values = build_release_values(spec(changes), SHOP, SETTINGS)
    alone_values = coalesce(helm_alone(operator_values), drift)
    by_operator, alone = _render_both(offline_helm, operator_values, alone_values, tmp_path)
    assert differs in _differences(by_operator, alone)
