"""The dashboards' vocabulary: panels and queries as plain data, then Grafana JSON.

Each dashboard is described as a ``Board`` of ``Chart`` rows (title, unit, queries);
``render`` turns it into Grafana's dashboard model with grafana-foundation-sdk, so
the JSON is never written by hand and the queries stay data that tests read.

Queries use three Grafana variables: ``$datasource`` (any Prometheus), and
``$namespace`` and ``$store``, the labels every series of a store carries
(the chart's ServiceMonitors and devstack's targets add them), defaulting to the
store the dashboard was rendered for. ``$__rate_interval`` is Grafana's own.
A server the store uses but does not own (Cassandra, Kafka) exports series
without store labels; a board reading them declares a ``ServerVariable``, the
scrape job of that server's exporter, and its queries select ``job``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from grafana_foundation_sdk.builders.common import TableSortByFieldState
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    DatasourceVariable,
    QueryVariable,
    Row,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as StatPanel
from grafana_foundation_sdk.builders.table import Panel as TablePanel
from grafana_foundation_sdk.builders.timeseries import Panel as TimeseriesPanel
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    DataTransformerConfig,
    VariableOption,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from productstore_contracts.metrics import OPERATIONAL_ROUTES

DATASOURCE_VARIABLE: Final = "datasource"
DATASOURCE: Final = DataSourceRef(type_val="prometheus", uid=f"${{{DATASOURCE_VARIABLE}}}")
# Every series of one store.
STORE: Final = 'namespace="$namespace", store="$store"'
RATE: Final = "$__rate_interval"
# The users' routes: probes and the scrape itself are the platform's.
USER_ROUTES: Final = f'route!~"{"|".join(OPERATIONAL_ROUTES)}"'
TAG: Final = "productstore"

Kind = Literal["timeseries", "stat", "table"]


@dataclass(frozen=True)
class Query:
    """One PromQL target and the legend of its series."""

    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Chart:
    """One panel: a time series (the default), a stat of the last value, or a table of
    the series' labels and last values (its queries instant, ``columns`` renaming
    labels and ``Value``, the other labels and the time hidden; largest value first)."""

    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    description: str = ""
    kind: Kind = "timeseries"
    width: int = 8
    columns: tuple[tuple[str, str], ...] = ()  # a table's (field, header), in order


@dataclass(frozen=True)
class Section:
    """A row of panels under a title."""

    title: str
    charts: tuple[Chart, ...]


@dataclass(frozen=True)
class ServerVariable:
    """A variable choosing the scrape job of a server's exporter (``label_values`` of
    ``metric``), ``default`` until someone picks another."""

    name: str
    label: str
    metric: str
    default: str

    @property
    def selector(self) -> str:
        return f'job="${self.name}"'


@dataclass(frozen=True)
class Board:
    """One dashboard of a store; ``name`` is its file and ConfigMap key stem."""

    name: str
    title: str
    description: str
    sections: tuple[Section, ...]
    tags: tuple[str, ...] = field(default=())
    # False: the dashboard is not per store (the operator's), so no store variables.
    per_store: bool = True
    servers: tuple[ServerVariable, ...] = field(default=())

    def charts(self) -> list[Chart]:
        return [chart for section in self.sections for chart in section.charts]

    def queries(self) -> list[Query]:
        return [query for chart in self.charts() for query in chart.queries]


def q(expr: str, legend: str = "") -> Query:
    return Query(expr, legend)


def chart(title: str, *queries: Query, **options: Any) -> Chart:
    return Chart(title, queries, **options)


def stat(title: str, *queries: Query, **options: Any) -> Chart:
    return Chart(title, queries, kind="stat", width=options.pop("width", 6), **options)


def table(title: str, query: Query, columns: dict[str, str], **options: Any) -> Chart:
    """A table of ``query``'s series now: one row each, ``columns`` (label or ``Value``
    -> header) shown in that order, the largest value first."""
    return Chart(title, (query,), kind="table", columns=tuple(columns.items()), **options)


def rate_sum(
    metric: str, matchers: str = "", by: str = "", window: str = RATE, *, scope: str = STORE
) -> str:
    """``sum by (by) (rate(metric{scope, matchers}[window]))``; the scope is the store's
    labels unless a server's job is given."""
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({metric}{{{_selector(scope, matchers)}}}[{window}]))"


def increase_sum(metric: str, by: str = "", window: str = "1h", *, scope: str = STORE) -> str:
    """``sum by (by) (increase(metric{scope}[window]))``: how many in the window."""
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (increase({metric}{{{scope}}}[{window}]))"


def gauge_sum(metric: str, matchers: str = "", by: str = "", *, scope: str = STORE) -> str:
    """``sum by (by) (metric{scope, matchers})``."""
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} ({metric}{{{_selector(scope, matchers)}}})"


def _selector(scope: str, matchers: str) -> str:
    return ", ".join(part for part in (scope, matchers) if part)


def rates(title: str, metric: str, by: str, **options: Any) -> Chart:
    """The commonest panel: a counter's rate, one series per value of ``by``
    (its legend), in operations per second unless told otherwise."""
    legend = " ".join(f"{{{{{label.strip()}}}}}" for label in by.split(","))
    scope = options.pop("scope", STORE)
    matchers = options.pop("matchers", "")
    options.setdefault("unit", "ops")
    return chart(title, q(rate_sum(metric, matchers, by, scope=scope), legend), **options)


def ratio_or_zero(bad: str, total: str, by: str = "") -> str:
    """bad / total, 0 rather than no series when nothing was bad."""
    on = f" on ({by})" if by else ""
    return f"({bad} or{on} (0 * {total})) / {total}"


def or_zero(expr: str, baseline: str) -> str:
    """``expr``, or 0 for each series of ``baseline`` it lacks: a counter labelled by an
    open set (an error class) has no series until the first one, and a panel should
    show 0 errors rather than no data."""
    return f"{expr} or (0 * {baseline})"


def quantile(phi: float, metric: str, matchers: str = "", by: str = "") -> str:
    """The phi-quantile of histogram ``metric`` (its name without _bucket)."""
    keep = f"{by}, le" if by else "le"
    return f"histogram_quantile({phi}, {rate_sum(f'{metric}_bucket', matchers, keep)})"


def _target(query: Query, ref: str, kind: Kind) -> Dataquery:
    target = Dataquery().expr(query.expr).ref_id(ref).datasource(DATASOURCE)
    if kind == "table":
        target = target.instant().format(PromQueryFormat.TABLE)
    return target.legend_format(query.legend) if query.legend else target


def _table(spec: Chart) -> TablePanel:
    shown = dict(spec.columns)
    # Instant table frames are Time, each label, Value: keep and order the columns given.
    organize = {
        "excludeByName": {"Time": True},
        "includeByName": dict.fromkeys(shown, True),
        "indexByName": {field: index for index, field in enumerate(shown)},
        "renameByName": shown,
    }
    return (
        TablePanel()
        .with_transformation(DataTransformerConfig(id_val="organize", options=organize))
        .sort_by([TableSortByFieldState().display_name(shown.get("Value", "Value")).desc(True)])
    )


def _panel(spec: Chart, panel_id: int) -> StatPanel | TimeseriesPanel | TablePanel:
    panel: StatPanel | TimeseriesPanel | TablePanel = (
        StatPanel()
        if spec.kind == "stat"
        else _table(spec)
        if spec.kind == "table"
        else TimeseriesPanel().fill_opacity(10)
    )
    panel = panel.id(panel_id).title(spec.title).unit(spec.unit).datasource(DATASOURCE)
    panel = panel.height(5 if spec.kind == "stat" else 8).span(spec.width)
    if spec.description:
        panel = panel.description(spec.description)
    for index, query in enumerate(spec.queries):
        panel = panel.with_target(_target(query, chr(ord("A") + index), spec.kind))
    return panel


def _query_variable(name: str, label: str, query: str, current: str) -> QueryVariable:
    return (
        QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query({"query": query, "refId": f"{name}-values"})
        .current(VariableOption(selected=True, text=current, value=current))
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def render(
    board: Board, *, uid: str, title_prefix: str, namespace: str, store: str
) -> dict[str, Any]:
    """The Grafana dashboard model (what a dashboard's JSON file holds) of ``board``."""
    dashboard = (
        Dashboard(f"{title_prefix}{board.title}")
        .uid(uid)
        .description(board.description)
        .tags([TAG, *board.tags])
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
        .with_variable(
            DatasourceVariable(DATASOURCE_VARIABLE).label("Data source").type("prometheus")
        )
    )
    if board.per_store:
        dashboard = dashboard.with_variable(
            _query_variable(
                "namespace", "Namespace", 'label_values(up{store!=""}, namespace)', namespace
            )
        ).with_variable(
            _query_variable(
                "store",
                "Store",
                'label_values(up{namespace="$namespace", store!=""}, store)',
                store,
            )
        )
    for server in board.servers:
        dashboard = dashboard.with_variable(
            _query_variable(
                server.name, server.label, f"label_values({server.metric}, job)", server.default
            )
        )
    panel_id = 0
    for section in board.sections:
        panel_id += 1
        dashboard = dashboard.with_row(Row(section.title).id(panel_id))
        for spec in section.charts:
            panel_id += 1
            dashboard = dashboard.with_panel(_panel(spec, panel_id))
    model: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(dashboard.build()))
    return model
