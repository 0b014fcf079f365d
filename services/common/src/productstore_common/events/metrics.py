"""Prometheus metrics of the outbox relay and the event consumers, on a registry the caller gives.

A service passes its app's registry (``metrics_of(app).registry``) so they
appear on ``/metrics``; without one they go to a private registry (tests read
it with ``get_sample_value``). A registry takes one ``RelayMetrics`` and one
``ConsumerMetrics``; a process's consumers share the latter (series are
labelled by group).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class RelayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.published = Counter(
            "outbox_events_published_total",
            "Outbox events published to Kafka (broker ack received).",
            ("topic",),
            registry=self.registry,
        )
        self.publish_errors = Counter(
            "outbox_publish_errors_total",
            "Failed attempts to publish outbox events or reach Kafka, by error class.",
            ("error",),
            registry=self.registry,
        )
        self.pending = Gauge(
            "outbox_pending_events",
            "Events the relay's last pass found and could not publish (a lower bound).",
            registry=self.registry,
        )
        self.oldest_pending_age = Gauge(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest event the last pass could not publish; 0 when none.",
            registry=self.registry,
        )
        self.lag = Histogram(
            "outbox_publish_lag_seconds",
            "Time from the outbox write to the broker's ack.",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.shards_owned = Gauge(
            "outbox_relay_shards_owned",
            "Outbox shards whose lease this relay holds.",
            registry=self.registry,
        )


class ConsumerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.consumed = Counter(
            "events_consumed_total",
            "Event records a consumer group finished, by outcome "
            "(handled, duplicate, dead_lettered; skipped: a type the consumer does not handle).",
            ("group", "outcome"),
            registry=self.registry,
        )
        self.handler_errors = Counter(
            "event_handler_errors_total",
            "Handler attempts that raised (each retry counts).",
            ("group", "error"),
            registry=self.registry,
        )
        self.lag = Gauge(
            "event_consumer_lag_records",
            "Records between a group's position and the ends of the partitions this "
            "consumer owns, as its last fetch saw them.",
            ("group",),
            registry=self.registry,
        )
        self.infrastructure_errors = Counter(
            "event_consumer_infrastructure_errors_total",
            "Failures of Kafka or the dedupe store while consuming (retried until they pass).",
            ("group", "error"),
            registry=self.registry,
        )
