"""The store's dashboards, as data: what each panel asks Prometheus.

Every metric named here is one the services, the kit or the operator export
(``tests/operator/builders/test_dashboards.py`` checks each against the code),
and every query is run against devstack's Prometheus after real traffic
(``tests/operator/builders/test_dashboards_on_devstack.py``). The Cassandra and
Kafka boards are in ``servers``.
"""

from __future__ import annotations

from productstore_contracts.descriptor import ServiceDescriptor
from productstore_contracts.metrics import REQUEST_DURATION, REQUESTS_TOTAL
from productstore_operator.builders.dashboards.panels import (
    RATE,
    STORE,
    USER_ROUTES,
    Board,
    Section,
    chart,
    gauge_sum,
    increase_sum,
    q,
    quantile,
    rate_sum,
    rates,
    ratio_or_zero,
    stat,
    table,
)

SLO = f"{{{STORE}}}"
BY_SLO = "{{service}} {{slo}}"


def overview() -> Board:
    requests = rate_sum(REQUESTS_TOTAL, USER_ROUTES, "service")
    errors = rate_sum(REQUESTS_TOTAL, f'{USER_ROUTES}, status=~"5.."', "service")
    return Board(
        name="overview",
        title="Store overview",
        description="The store's objectives and error budgets (the operator's SLO "
        "recording rules), and its traffic per service.",
        sections=(
            Section(
                "Objectives",
                (
                    stat(
                        "Error budget remaining (30d)",
                        q(f"slo:period_error_budget_remaining:ratio{SLO}", BY_SLO),
                        unit="percentunit",
                        width=12,
                    ),
                    stat(
                        "Objective",
                        q(f"slo:objective:ratio{SLO}", BY_SLO),
                        unit="percentunit",
                        width=12,
                    ),
                    chart(
                        "Burn rate (5m)",
                        q(f"slo:current_burn_rate:ratio{SLO}", BY_SLO),
                        description="1 spends the budget exactly over the period; the "
                        "page fires at 14.4 over 1h and 6 over 6h.",
                    ),
                    chart(
                        "Error ratio of the SLI (1h)",
                        q(f"slo:sli_error:ratio_rate1h{SLO}", BY_SLO),
                        unit="percentunit",
                    ),
                    chart(
                        "Burn rate over the period (30d)",
                        q(f"slo:period_burn_rate:ratio{SLO}", BY_SLO),
                    ),
                ),
            ),
            Section(
                "Traffic",
                (
                    stat("Targets up", q(f"sum by (service) (up{SLO})", "{{service}}"), width=24),
                    chart("Requests", q(requests, "{{service}}"), unit="reqps"),
                    chart(
                        "5xx ratio",
                        q(ratio_or_zero(errors, requests, "service"), "{{service}}"),
                        unit="percentunit",
                    ),
                    chart(
                        "p99 latency",
                        q(quantile(0.99, REQUEST_DURATION, USER_ROUTES, "service"), "{{service}}"),
                        unit="s",
                    ),
                ),
            ),
        ),
    )


def business() -> Board:
    funnel = "orders_funnel_total"

    def stage(name: str) -> str:
        return f'sum(increase({funnel}{{{STORE}, stage="{name}"}}[1h]))'

    searches = rate_sum("catalog_searches_total", by="kind")
    empty = rate_sum("catalog_searches_no_results_total", by="kind")
    return Board(
        name="business",
        title="Business",
        description="Orders, revenue, the conversion funnel, carts, searches and searches "
        "that found nothing, logins and reviews.",
        sections=(
            Section(
                "Orders",
                (
                    chart(
                        "Orders placed and paid",
                        q(rate_sum("orders_placed_total", by="currency"), "placed {{currency}}"),
                        q(rate_sum("orders_paid_total", by="currency"), "paid {{currency}}"),
                        unit="ops",
                    ),
                    chart(
                        "Revenue and refunds per hour",
                        q(increase_sum("orders_revenue_total", "currency"), "revenue {{currency}}"),
                        q(
                            increase_sum("orders_refunded_total", "currency"),
                            "refunded {{currency}}",
                        ),
                    ),
                    rates("Cancellations by reason", "orders_cancelled_total", "reason"),
                    rates("Order status changes", "orders_transitions_total", "status"),
                    chart(
                        "Checkout p95 by stage",
                        q(quantile(0.95, "orders_checkout_stage_seconds", by="stage"), "{{stage}}"),
                        unit="s",
                    ),
                ),
            ),
            Section(
                "Conversion funnel",
                (
                    stat(
                        "Funnel, last hour",
                        q(increase_sum(funnel, "stage"), "{{stage}}"),
                        width=12,
                        description="Carts begun (a first item in an empty cart), checkouts "
                        "started, orders placed, orders paid.",
                    ),
                    chart(
                        "Step conversion (1h)",
                        q(f"{stage('checkout_started')} / {stage('cart')}", "checkout per cart"),
                        q(
                            f"{stage('placed')} / {stage('checkout_started')}",
                            "placed per checkout",
                        ),
                        q(f"{stage('paid')} / {stage('placed')}", "paid per placed"),
                        unit="percentunit",
                        width=12,
                    ),
                    rates("Funnel stages", funnel, "stage"),
                    chart(
                        "Cart abandonment (1h)",
                        q(f"clamp_min(1 - {stage('placed')} / {stage('cart')}, 0)", "abandoned"),
                        unit="percentunit",
                        description="Share of the carts begun in the last hour that no order "
                        "followed in it (orders placed per cart begun, from 1).",
                    ),
                    rates("Cart changes", "orders_cart_changes_total", "change"),
                ),
            ),
            Section(
                "Searches, accounts, reviews",
                (
                    rates("Searches by kind", "catalog_searches_total", "kind"),
                    chart(
                        "Searches with no results, share by kind",
                        q(f"{empty} / {searches}", "{{kind}}"),
                        unit="percentunit",
                        description="Kinds: text (words given), filters (no words), all.",
                    ),
                    chart(
                        "Searches with no results per hour",
                        q(increase_sum("catalog_searches_no_results_total", "kind"), "{{kind}}"),
                    ),
                    rates(
                        "Search page cache", "catalog_search_page_cache_lookups_total", "outcome"
                    ),
                    rates("Logins by outcome", "auth_logins_total", "outcome"),
                    rates("Review moderation", "reviews_moderation_decisions_total", "decision"),
                    table(
                        "Top searches with no results (today and yesterday, UTC)",
                        q(f"topk(10, max by (query) (catalog_search_no_results_top{{{STORE}}}))"),
                        {"query": "Words searched", "Value": "Searches"},
                        description="The ten texts (case-folded, whitespace collapsed) whose "
                        "searches most often matched no product, from the catalog's record in "
                        "Redis (GET /api/products/search/no-results lists more and longer). "
                        "Every replica exports the same ten, so the maximum over replicas.",
                        width=12,
                    ),
                ),
            ),
        ),
    )


def inventory() -> Board:
    return Board(
        name="inventory",
        title="Inventory",
        description="Stock-outs, low stock, reservations and their conflicts, expired holds.",
        sections=(
            Section(
                "Stock",
                (
                    chart(
                        "Stock-outs per hour",
                        q(increase_sum("inventory_stock_outs_total"), "stock-outs"),
                    ),
                    rates(
                        "Low-stock crossings", "inventory_low_stock_crossings_total", "direction"
                    ),
                    chart("Stock streams open", q(gauge_sum("inventory_streams_open"), "open")),
                ),
            ),
            Section(
                "Reservations",
                (
                    rates("Reservations by outcome", "inventory_reservations_total", "outcome"),
                    chart(
                        "Reservation conflicts",
                        q(rate_sum("inventory_reservation_conflicts_total"), "CAS lost"),
                        q(rate_sum("inventory_cas_outcome_unknown_total"), "CAS unknown"),
                        unit="ops",
                    ),
                    rates("Holds expired", "inventory_holds_expired_total", "how"),
                    rates("Payments applied to holds", "inventory_commits_total", "outcome"),
                ),
            ),
        ),
    )


def red(service: ServiceDescriptor) -> Board:
    """Rate, errors and duration of one service, its dependencies and its process."""
    own = f'service="{service.name}"'
    routes = f"{own}, {USER_ROUTES}"
    requests = rate_sum(REQUESTS_TOTAL, routes, "route")
    errors = rate_sum(REQUESTS_TOTAL, f'{routes}, status=~"5.."', "route")
    objectives = f"{{{STORE}, {own}}}"
    return Board(
        name=f"service-{service.name}",
        title=f"Service: {service.name}",
        description=f"{service.name} ({service.summary}): rate, errors and duration by "
        "route, its objectives, dependencies and process.",
        tags=("red", service.name),
        sections=(
            Section(
                "Objectives",
                (
                    stat(
                        "Error budget remaining (30d)",
                        q(f"slo:period_error_budget_remaining:ratio{objectives}", "{{slo}}"),
                        unit="percentunit",
                        width=12,
                    ),
                    stat(
                        "Burn rate (5m)",
                        q(f"slo:current_burn_rate:ratio{objectives}", "{{slo}}"),
                        width=12,
                    ),
                ),
            ),
            Section(
                "Rate, errors, duration",
                (
                    chart("Requests by route", q(requests, "{{route}}"), unit="reqps"),
                    chart(
                        "Responses by status",
                        q(rate_sum(REQUESTS_TOTAL, routes, "status"), "{{status}}"),
                        unit="reqps",
                    ),
                    chart(
                        "5xx ratio by route",
                        q(ratio_or_zero(errors, requests, "route"), "{{route}}"),
                        unit="percentunit",
                    ),
                    chart(
                        "Latency",
                        *(
                            q(quantile(phi, REQUEST_DURATION, routes), f"p{round(phi * 100)}")
                            for phi in (0.5, 0.95, 0.99)
                        ),
                        unit="s",
                    ),
                    chart(
                        "p99 by route",
                        q(quantile(0.99, REQUEST_DURATION, routes, "route"), "{{route}}"),
                        unit="s",
                    ),
                    chart(
                        "In flight",
                        q(
                            f"sum by (method) (http_requests_in_flight{{{STORE}, {own}}})",
                            "{{method}}",
                        ),
                    ),
                ),
            ),
            Section(
                "Dependencies and process",
                (
                    chart(
                        "Requests refused: dependency unavailable",
                        q(
                            rate_sum("dependency_unavailable_total", own, "dependency"),
                            "{{dependency}}",
                        ),
                        unit="reqps",
                    ),
                    chart(
                        "CPU",
                        q(rate_sum("process_cpu_seconds_total", own, "instance"), "{{instance}}"),
                        unit="percentunit",
                    ),
                    chart(
                        "Resident memory",
                        q(
                            f"sum by (instance) (process_resident_memory_bytes{{{STORE}, {own}}})",
                            "{{instance}}",
                        ),
                        unit="bytes",
                    ),
                ),
            ),
        ),
    )


def _operator_rate(metric: str, by: str) -> str:
    # The operator serves every store: its series carry no store labels.
    return f"sum by ({by}) (rate(productstore_operator_{metric}[{RATE}]))"


def operator() -> Board:
    return Board(
        name="operator",
        title="Operator",
        description="The ProductStore operator: reconcile passes and their duration, step "
        "failures and durations, helm operations, stores by phase (every store it manages).",
        per_store=False,
        sections=(
            Section(
                "Stores",
                (
                    stat(
                        "Stores by phase",
                        q("sum by (phase) (productstore_operator_stores)", "{{phase}}"),
                        width=24,
                    ),
                ),
            ),
            Section(
                "Reconciles",
                (
                    chart(
                        "Passes by result",
                        q(
                            _operator_rate("reconciles_total", "result"),
                            "{{result}}",
                        ),
                        unit="ops",
                    ),
                    chart(
                        "Pass duration",
                        *(
                            q(
                                f"histogram_quantile({phi}, sum by (le) (rate("
                                f"productstore_operator_reconcile_duration_seconds_bucket[{RATE}])))",
                                f"p{round(phi * 100)}",
                            )
                            for phi in (0.5, 0.99)
                        ),
                        unit="s",
                    ),
                    chart(
                        "Step failures",
                        q(
                            _operator_rate("reconcile_errors_total", "step"),
                            "{{step}}",
                        ),
                        unit="ops",
                    ),
                    chart(
                        "Step p99 duration",
                        q(
                            "histogram_quantile(0.99, sum by (step, le) (rate("
                            f"productstore_operator_step_duration_seconds_bucket[{RATE}])))",
                            "{{step}}",
                        ),
                        unit="s",
                    ),
                    chart(
                        "helm operations",
                        q(
                            "sum by (operation, result) "
                            f"(rate(productstore_operator_helm_operations_total[{RATE}]))",
                            "{{operation}} {{result}}",
                        ),
                        unit="ops",
                    ),
                ),
            ),
        ),
    )
