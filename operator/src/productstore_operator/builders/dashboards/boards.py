"""The store's dashboards, as data: what each panel asks Prometheus.

Every metric named here is one the services, the kit or the operator export
(``tests/operator/builders/test_dashboards.py`` checks each against the code),
and every query is run against devstack's Prometheus after real traffic
(``tests/operator/builders/test_dashboards_devstack.py``).
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
    or_zero,
    q,
    quantile,
    rate_sum,
    ratio_or_zero,
    stat,
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
    return Board(
        name="business",
        title="Business",
        description="Orders, revenue, cancellations, carts, searches, logins and reviews.",
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
                        q(
                            f"sum by (currency) (increase(orders_revenue_total{{{STORE}}}[1h]))",
                            "revenue {{currency}}",
                        ),
                        q(
                            f"sum by (currency) (increase(orders_refunded_total{{{STORE}}}[1h]))",
                            "refunded {{currency}}",
                        ),
                    ),
                    chart(
                        "Conversion: paid per placed",
                        q(
                            f"sum(rate(orders_paid_total{{{STORE}}}[{RATE}])) "
                            f"/ sum(rate(orders_placed_total{{{STORE}}}[{RATE}]))",
                            "paid / placed",
                        ),
                        unit="percentunit",
                    ),
                    chart(
                        "Cancellations by reason",
                        q(rate_sum("orders_cancelled_total", by="reason"), "{{reason}}"),
                        unit="ops",
                    ),
                    chart(
                        "Order status changes",
                        q(rate_sum("orders_transitions_total", by="status"), "{{status}}"),
                        unit="ops",
                    ),
                    chart(
                        "Checkout p95 by stage",
                        q(quantile(0.95, "orders_checkout_stage_seconds", by="stage"), "{{stage}}"),
                        unit="s",
                    ),
                ),
            ),
            Section(
                "Carts, searches, accounts, reviews",
                (
                    chart(
                        "Cart requests",
                        q(
                            rate_sum(REQUESTS_TOTAL, 'route=~"/api/cart.*"', "method"),
                            "{{method}}",
                        ),
                        unit="reqps",
                        description="No cart-add counter exists yet: the cart routes' "
                        "requests by method (PUT/POST add or change a line).",
                    ),
                    chart(
                        "Searches",
                        q(rate_sum("catalog_search_duration_seconds_count"), "searches"),
                        unit="ops",
                    ),
                    chart(
                        "Search page cache",
                        q(
                            rate_sum("catalog_search_page_cache_lookups_total", by="outcome"),
                            "{{outcome}}",
                        ),
                        unit="ops",
                    ),
                    chart(
                        "Logins by outcome",
                        q(rate_sum("auth_logins_total", by="outcome"), "{{outcome}}"),
                        unit="ops",
                    ),
                    chart(
                        "Review moderation",
                        q(
                            rate_sum("reviews_moderation_decisions_total", by="decision"),
                            "{{decision}}",
                        ),
                        unit="ops",
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
                        q(
                            f"sum(increase(inventory_stock_outs_total{{{STORE}}}[1h]))",
                            "stock-outs",
                        ),
                    ),
                    chart(
                        "Low-stock crossings",
                        q(
                            rate_sum("inventory_low_stock_crossings_total", by="direction"),
                            "{{direction}}",
                        ),
                        unit="ops",
                    ),
                    chart(
                        "Stock streams open",
                        q(f"sum(inventory_streams_open{{{STORE}}})", "open"),
                    ),
                ),
            ),
            Section(
                "Reservations",
                (
                    chart(
                        "Reservations by outcome",
                        q(rate_sum("inventory_reservations_total", by="outcome"), "{{outcome}}"),
                        unit="ops",
                    ),
                    chart(
                        "Reservation conflicts",
                        q(rate_sum("inventory_reservation_conflicts_total"), "CAS lost"),
                        q(rate_sum("inventory_cas_outcome_unknown_total"), "CAS unknown"),
                        unit="ops",
                    ),
                    chart(
                        "Holds expired",
                        q(rate_sum("inventory_holds_expired_total", by="how"), "{{how}}"),
                        unit="ops",
                    ),
                    chart(
                        "Payments applied to holds",
                        q(rate_sum("inventory_commits_total", by="outcome"), "{{outcome}}"),
                        unit="ops",
                    ),
                ),
            ),
        ),
    )


def cassandra() -> Board:
    cql = "cassandra_client_request_duration_seconds"
    return Board(
        name="cassandra",
        title="Cassandra (client side)",
        description="Cassandra as the services' driver sees it. The cluster's own JMX "
        "metrics are not scraped yet, so this is every request's latency and failure "
        "from the client, by service.",
        sections=(
            Section(
                "Requests",
                (
                    chart(
                        "CQL requests",
                        q(rate_sum(f"{cql}_count", by="service"), "{{service}}"),
                        unit="reqps",
                    ),
                    chart(
                        "CQL p99 latency",
                        q(quantile(0.99, cql, by="service"), "{{service}}"),
                        unit="s",
                    ),
                    chart(
                        "CQL failures by kind",
                        q(
                            rate_sum("cassandra_client_request_errors_total", by="service, error"),
                            "{{service}} {{error}}",
                        ),
                        unit="ops",
                    ),
                    chart(
                        "Requests refused: Cassandra unavailable",
                        q(
                            rate_sum(
                                "dependency_unavailable_total", 'dependency="cassandra"', "service"
                            ),
                            "{{service}}",
                        ),
                        unit="reqps",
                    ),
                ),
            ),
        ),
    )


def kafka() -> Board:
    consumed = rate_sum("events_consumed_total", by="group")
    return Board(
        name="kafka",
        title="Kafka and the outbox",
        description="The outbox relays' backlog and publishing, and the consumers' "
        "lag and progress by group.",
        sections=(
            Section(
                "Outbox",
                (
                    chart(
                        "Outbox backlog",
                        q(f"sum by (service) (outbox_pending_events{{{STORE}}})", "{{service}}"),
                    ),
                    chart(
                        "Oldest unpublished event",
                        q(
                            f"max by (service) (outbox_oldest_pending_age_seconds{{{STORE}}})",
                            "{{service}}",
                        ),
                        unit="s",
                    ),
                    chart(
                        "Events published",
                        q(rate_sum("outbox_events_published_total", by="topic"), "{{topic}}"),
                        unit="ops",
                    ),
                    chart(
                        "Publish p99 lag",
                        q(
                            quantile(0.99, "outbox_publish_lag_seconds", by="service"),
                            "{{service}}",
                        ),
                        unit="s",
                    ),
                    chart(
                        "Publish errors",
                        q(
                            or_zero(
                                rate_sum("outbox_publish_errors_total", by="service"),
                                f"sum by (service) (outbox_relay_shards_owned{{{STORE}}})",
                            ),
                            "{{service}}",
                        ),
                        unit="ops",
                    ),
                    chart(
                        "Outbox shards owned",
                        q(
                            f"sum by (service) (outbox_relay_shards_owned{{{STORE}}})",
                            "{{service}}",
                        ),
                    ),
                ),
            ),
            Section(
                "Consumers",
                (
                    chart(
                        "Consumer lag by group",
                        q(
                            f"sum by (group) (event_consumer_lag_records{{{STORE}}})",
                            "{{group}}",
                        ),
                        description="Records between each group's position and the ends of "
                        "its partitions, summed over the replicas that own them.",
                    ),
                    chart(
                        "Records consumed by group",
                        q(
                            rate_sum("events_consumed_total", by="group, outcome"),
                            "{{group}} {{outcome}}",
                        ),
                        unit="ops",
                    ),
                    chart(
                        "Handler errors",
                        q(
                            or_zero(rate_sum("event_handler_errors_total", by="group"), consumed),
                            "{{group}}",
                        ),
                        unit="ops",
                    ),
                    chart(
                        "Kafka or dedupe failures",
                        q(
                            or_zero(
                                rate_sum("event_consumer_infrastructure_errors_total", by="group"),
                                consumed,
                            ),
                            "{{group}}",
                        ),
                        unit="ops",
                    ),
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
