"""The dashboards of the servers the store uses, Cassandra and Kafka (with the outbox
and the consumers that feed and read Kafka), as data like ``boards``.

Their server panels read the Prometheus JMX exporter's series under devstack's
rules (``devstack/src/devstack/jmx_exporter.py``, ADR 0023). Those series carry
no store labels (a cluster may serve several stores), so each board has a
variable for its exporter's scrape job, defaulting to devstack's job name.
"""

from __future__ import annotations

from productstore_operator.builders.dashboards.panels import (
    STORE,
    Board,
    Section,
    ServerVariable,
    chart,
    gauge_sum,
    or_zero,
    q,
    quantile,
    rate_sum,
    rates,
)

# The servers' own metrics, from devstack's JMX exporter rules (devstack/jmx_exporter.py):
# they carry no store labels, so their boards select the exporter's scrape job.
CASSANDRA_JOB = ServerVariable(
    "cassandra_job", "Cassandra job", "cassandra_storage_load_bytes", "cassandra"
)
KAFKA_JOB = ServerVariable("kafka_job", "Kafka job", "kafka_server_bytesin_total", "kafka")


def cassandra() -> Board:
    cql = "cassandra_client_request_duration_seconds"
    server = CASSANDRA_JOB.selector
    latency = "cassandra_client_request_latency_seconds"
    dropped, pending = "cassandra_dropped_messages_total", "cassandra_thread_pool_pendingtasks"
    return Board(
        name="cassandra",
        title="Cassandra",
        description="The cluster as its nodes see it (the Prometheus JMX exporter's series "
        "under devstack's rules, chosen by their scrape job: every store on the cluster), "
        "and as the store's services' driver sees it.",
        servers=(CASSANDRA_JOB,),
        sections=(
            Section(
                "Cluster (JMX exporter)",
                (
                    rates(
                        "Coordinator requests by kind",
                        f"{latency}_count",
                        "request",
                        scope=server,
                        unit="reqps",
                    ),
                    chart(
                        "Coordinator p99 latency by kind",
                        q(
                            f'max by (request) ({latency}{{{server}, quantile="0.99"}})',
                            "{{request}}",
                        ),
                        unit="s",
                        description="The nodes' own decaying percentile (Cassandra's "
                        "histogram, not Prometheus's): the worst node per kind.",
                    ),
                    chart(
                        "Coordinator mean latency by kind",
                        q(
                            f"{rate_sum(f'{latency}_sum', by='request', scope=server)} "
                            f"/ {rate_sum(f'{latency}_count', by='request', scope=server)}",
                            "{{request}}",
                        ),
                        unit="s",
                    ),
                    chart(
                        "Timeouts, unavailables, failures",
                        *(
                            q(
                                rate_sum(
                                    f"cassandra_client_request_{kind}_total",
                                    by="request",
                                    scope=server,
                                ),
                                f"{{{{request}}}} {kind}",
                            )
                            for kind in ("timeouts", "unavailables", "failures")
                        ),
                        unit="ops",
                    ),
                    chart(
                        "Pending compactions",
                        q(gauge_sum("cassandra_compaction_pendingtasks", scope=server), "pending"),
                    ),
                    chart(
                        "Dropped messages (top 5 kinds)",
                        q(
                            f"topk(5, {rate_sum(dropped, by='message', scope=server)})",
                            "{{message}}",
                        ),
                        unit="ops",
                        description="Messages a node dropped because they waited longer than "
                        "their timeout: 0 on a node that keeps up.",
                    ),
                    chart(
                        "Thread pools: pending tasks (top 5)",
                        q(
                            f"topk(5, {gauge_sum(pending, by='pool', scope=server)})",
                            "{{pool}}",
                        ),
                    ),
                    rates(
                        "Lightweight transactions contended",
                        "cassandra_cas_contended_total",
                        "request",
                        scope=server,
                    ),
                    chart(
                        "Data on disk by node",
                        q(
                            gauge_sum("cassandra_storage_load_bytes", by="instance", scope=server),
                            "{{instance}}",
                        ),
                        unit="bytes",
                    ),
                ),
            ),
            Section(
                "The services' requests (driver)",
                (
                    rates("CQL requests", f"{cql}_count", "service", unit="reqps"),
                    chart(
                        "CQL p99 latency",
                        q(quantile(0.99, cql, by="service"), "{{service}}"),
                        unit="s",
                    ),
                    rates(
                        "CQL failures by kind",
                        "cassandra_client_request_errors_total",
                        "service, error",
                    ),
                    rates(
                        "Requests refused: Cassandra unavailable",
                        "dependency_unavailable_total",
                        "service",
                        matchers='dependency="cassandra"',
                        unit="reqps",
                    ),
                ),
            ),
        ),
    )


def kafka() -> Board:
    consumed = rate_sum("events_consumed_total", by="group")
    server = KAFKA_JOB.selector
    shards = gauge_sum("outbox_relay_shards_owned", by="service")
    return Board(
        name="kafka",
        title="Kafka and the outbox",
        description="The broker (the Prometheus JMX exporter's series under devstack's "
        "rules, chosen by their scrape job: every store on the cluster), the outbox "
        "relays' backlog and publishing, and the consumers' lag and progress by group.",
        servers=(KAFKA_JOB,),
        sections=(
            Section(
                "Broker (JMX exporter)",
                (
                    chart(
                        "Partitions at risk",
                        q(
                            gauge_sum(
                                "kafka_server_replica_manager_underreplicatedpartitions",
                                scope=server,
                            ),
                            "under-replicated",
                        ),
                        q(
                            gauge_sum(
                                "kafka_server_replica_manager_underminisrpartitioncount",
                                scope=server,
                            ),
                            "under min ISR",
                        ),
                        q(
                            gauge_sum("kafka_controller_offlinepartitionscount", scope=server),
                            "offline",
                        ),
                    ),
                    chart(
                        "Bytes in and out",
                        q(rate_sum("kafka_server_bytesin_total", scope=server), "in"),
                        q(rate_sum("kafka_server_bytesout_total", scope=server), "out"),
                        unit="Bps",
                    ),
                    chart(
                        "Messages in",
                        q(rate_sum("kafka_server_messagesin_total", scope=server), "messages"),
                        unit="ops",
                    ),
                    rates(
                        "Requests by kind",
                        "kafka_network_request_seconds_count",
                        "request",
                        scope=server,
                        unit="reqps",
                    ),
                    chart(
                        "Request p99 by kind",
                        q(
                            "max by (request) "
                            f'(kafka_network_request_seconds{{{server}, quantile="0.99"}})',
                            "{{request}}",
                        ),
                        unit="s",
                        description="Total time (queue, local, remote, response) of the "
                        "broker's own decaying percentile; a Fetch waits up to fetch.max.wait.",
                    ),
                    chart(
                        "Failed produce and fetch requests",
                        q(
                            rate_sum("kafka_server_failedproducerequests_total", scope=server),
                            "produce",
                        ),
                        q(
                            rate_sum("kafka_server_failedfetchrequests_total", scope=server),
                            "fetch",
                        ),
                        unit="reqps",
                    ),
                ),
            ),
            Section(
                "Outbox",
                (
                    chart(
                        "Outbox backlog",
                        q(gauge_sum("outbox_pending_events", by="service"), "{{service}}"),
                    ),
                    chart(
                        "Oldest unpublished event",
                        q(
                            f"max by (service) (outbox_oldest_pending_age_seconds{{{STORE}}})",
                            "{{service}}",
                        ),
                        unit="s",
                    ),
                    rates("Events published", "outbox_events_published_total", "topic"),
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
                            or_zero(rate_sum("outbox_publish_errors_total", by="service"), shards),
                            "{{service}}",
                        ),
                        unit="ops",
                    ),
                    chart("Outbox shards owned", q(shards, "{{service}}")),
                ),
            ),
            Section(
                "Consumers",
                (
                    chart(
                        "Consumer lag by group",
                        q(gauge_sum("event_consumer_lag_records", by="group"), "{{group}}"),
                        description="Records between each group's position and the ends of "
                        "its partitions, summed over the replicas that own them.",
                    ),
                    rates("Records consumed by group", "events_consumed_total", "group, outcome"),
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
