"""The Prometheus JMX exporter, loaded as a Java agent into Cassandra and Kafka.

One jar from Maven Central (``io.prometheus.jmx:jmx_prometheus_javaagent``),
provisioned once under the artifacts cache and shared by both JVMs. Each JVM
serves ``/metrics`` on a loopback port of its own, and devstack's Prometheus
scrapes it (jobs ``cassandra`` and ``kafka``).

The rules below turn a short list of MBeans into a few dozen series with bounded
labels: the scrape stays cheap, and the tests' hundreds of throw-away keyspaces
and topics never become labels (per-table and per-topic beans are not read).
Names follow Prometheus conventions (``_total`` counters, ``_seconds``), so the
dashboards and symptom alerts read them as they read any exporter's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from devstack import toolchains
from devstack.artifacts import ensure
from devstack.component import Component
from devstack.errors import DevstackError

VERSION: Final = "1.0.1"
COORDINATE: Final = f"io.prometheus.jmx:jmx_prometheus_javaagent:{VERSION}"
HOST: Final = "127.0.0.1"
# devstack's Prometheus scrapes both (jobs cassandra and kafka).
CASSANDRA_PORT: Final = 7070
KAFKA_PORT: Final = 7071

# Timers in Cassandra count microseconds.
_MICROS: Final = 0.000001

# The agent exports the JVM's own metrics (memory, GC, threads) by itself. A COUNTER
# rule gets `_total` appended, so the `_count` and `_sum` halves of a timer are
# UNTYPED (Prometheus's rate() reads them as it reads a summary's).

CASSANDRA_CONFIG: Final[dict[str, Any]] = {
    "lowercaseOutputName": True,
    "lowercaseOutputLabelNames": True,
    "includeObjectNames": [
        "org.apache.cassandra.metrics:type=ClientRequest,*",
        "org.apache.cassandra.metrics:type=Storage,*",
        "org.apache.cassandra.metrics:type=Compaction,*",
        "org.apache.cassandra.metrics:type=DroppedMessage,*",
        "org.apache.cassandra.metrics:type=ThreadPools,*",
    ],
    "rules": [
        # Coordinator requests by kind (Read, Write, CASRead, CASWrite, RangeSlice, ...).
        {
            "pattern": r"org.apache.cassandra.metrics<type=ClientRequest, scope=(\w+), "
            r"name=Latency><>Count",
            "name": "cassandra_client_request_latency_seconds_count",
            "type": "UNTYPED",
            "labels": {"request": "$1"},
        },
        {
            "pattern": r"org.apache.cassandra.metrics<type=ClientRequest, scope=(\w+), "
            r"name=TotalLatency><>Count",
            "name": "cassandra_client_request_latency_seconds_sum",
            "type": "UNTYPED",
            "labels": {"request": "$1"},
            "valueFactor": _MICROS,
        },
        {
            "pattern": r"org.apache.cassandra.metrics<type=ClientRequest, scope=(\w+), "
            r"name=Latency><>(50|99)thPercentile",
            "name": "cassandra_client_request_latency_seconds",
            "type": "GAUGE",
            "labels": {"request": "$1", "quantile": "0.$2"},
            "valueFactor": _MICROS,
        },
        {
            "pattern": r"org.apache.cassandra.metrics<type=ClientRequest, scope=(\w+), "
            r"name=(Timeouts|Unavailables|Failures)><>Count",
            "name": "cassandra_client_request_$2_total",
            "type": "COUNTER",
            "labels": {"request": "$1"},
        },
        # Lightweight transactions that had to retry their Paxos round.
        {
            "pattern": r"org.apache.cassandra.metrics<type=ClientRequest, scope=(CAS\w+), "
            r"name=ContentionHistogram><>Count",
            "name": "cassandra_cas_contended_total",
            "type": "COUNTER",
            "labels": {"request": "$1"},
        },
        {
            "pattern": r"org.apache.cassandra.metrics<type=Storage, name=Load><>Count",
            "name": "cassandra_storage_load_bytes",
            "type": "GAUGE",
        },
        {
            "pattern": r"org.apache.cassandra.metrics<type=Storage, name=Exceptions><>Count",
            "name": "cassandra_storage_exceptions_total",
            "type": "COUNTER",
        },
        {
            "pattern": r"org.apache.cassandra.metrics<type=Compaction, "
            r"name=(PendingTasks|CompletedTasks)><>Value",
            "name": "cassandra_compaction_$1",
            "type": "GAUGE",
        },
        {
            "pattern": r"org.apache.cassandra.metrics<type=DroppedMessage, scope=(\w+), "
            r"name=Dropped><>Count",
            "name": "cassandra_dropped_messages_total",
            "type": "COUNTER",
            "labels": {"message": "$1"},
        },
        {
            "pattern": r"org.apache.cassandra.metrics<type=ThreadPools, path=(\w+), scope=(\w+), "
            r"name=(PendingTasks|ActiveTasks)><>Value",
            "name": "cassandra_thread_pool_$3",
            "type": "GAUGE",
            "labels": {"path": "$1", "pool": "$2"},
        },
    ],
}

# Only the broker-wide beans: the per-topic twins would label every test's topic.
_BROKER_TOPIC_METRICS: Final = (
    "MessagesInPerSec",
    "BytesInPerSec",
    "BytesOutPerSec",
    "TotalProduceRequestsPerSec",
    "TotalFetchRequestsPerSec",
    "FailedProduceRequestsPerSec",
    "FailedFetchRequestsPerSec",
)
_REQUESTS: Final = ("Produce", "FetchConsumer", "Fetch", "OffsetCommit", "JoinGroup")

KAFKA_CONFIG: Final[dict[str, Any]] = {
    "lowercaseOutputName": True,
    "lowercaseOutputLabelNames": True,
    "includeObjectNames": [
        *(f"kafka.server:type=BrokerTopicMetrics,name={name}" for name in _BROKER_TOPIC_METRICS),
        "kafka.server:type=ReplicaManager,*",
        "kafka.controller:type=KafkaController,*",
        *(
            f"kafka.network:type=RequestMetrics,name=TotalTimeMs,request={request}"
            for request in _REQUESTS
        ),
    ],
    "rules": [
        {
            "pattern": r"kafka.server<type=BrokerTopicMetrics, name=(\w+)PerSec><>Count",
            "name": "kafka_server_$1_total",
            "type": "COUNTER",
        },
        {
            "pattern": r"kafka.server<type=ReplicaManager, name=(\w+)><>Value",
            "name": "kafka_server_replica_manager_$1",
            "type": "GAUGE",
        },
        {
            "pattern": r"kafka.controller<type=KafkaController, name=(\w+)><>Value",
            "name": "kafka_controller_$1",
            "type": "GAUGE",
        },
        {
            "pattern": r"kafka.network<type=RequestMetrics, name=TotalTimeMs, "
            r"request=(\w+)><>Count",
            "name": "kafka_network_request_seconds_count",
            "type": "UNTYPED",
            "labels": {"request": "$1"},
        },
        {
            "pattern": r"kafka.network<type=RequestMetrics, name=TotalTimeMs, "
            r"request=(\w+)><>(50|99)thPercentile",
            "name": "kafka_network_request_seconds",
            "type": "GAUGE",
            "labels": {"request": "$1", "quantile": "0.$2"},
            "valueFactor": 0.001,
        },
    ],
}


def agent_dir(component: Component) -> Path:
    return component.paths.artifacts / f"jmx-exporter-{VERSION}"


def agent_jar(component: Component) -> Path:
    return agent_dir(component) / f"jmx_prometheus_javaagent-{VERSION}.jar"


def provision(component: Component) -> bool:
    """The agent's jar in the artifacts cache (one copy for both JVMs). True if fetched."""

    def build(tmp: Path) -> None:
        toolchains.maven_copy_dependencies(
            component.name,
            [COORDINATE],
            tmp,
            work_dir=component.paths.builds / "jmx-exporter",
            log_file=component.provision_log,
        )
        if not (tmp / agent_jar(component).name).is_file():
            raise DevstackError(
                component.name,
                f"Maven did not deliver {COORDINATE}",
                log_file=component.provision_log,
                hint=toolchains.JAVA_HINT,
            )

    fingerprint = json.dumps({"maven": COORDINATE}, sort_keys=True)
    return ensure(
        component.name, agent_dir(component), fingerprint, build, verify_hashes=component.ctx.verify
    )


def config_file(component: Component) -> Path:
    return component.state_dir / "jmx-exporter.json"


def write_config(component: Component, config: dict[str, Any]) -> None:
    """The agent's rules next to the component's state (a `prepare` step: the agent
    reads them at start-up, so a changed rule takes effect on the next start)."""
    path = config_file(component)
    path.parent.mkdir(parents=True, exist_ok=True)
    # YAML is a superset of JSON: the agent reads this as it reads its YAML files.
    text = json.dumps(config, indent=1, sort_keys=True) + "\n"
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def agent_flag(component: Component, port: int) -> str:
    """The JVM flag that loads the exporter on 127.0.0.1:`port` with the written rules."""
    return f"-javaagent:{agent_jar(component)}={HOST}:{port}:{config_file(component)}"
