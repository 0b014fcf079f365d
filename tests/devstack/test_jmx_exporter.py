"""Cassandra's and Kafka's JMX metrics, through the exporter agent, in Prometheus.

Real requests of each kind the rules name (a read, a write, a lightweight
transaction; records produced), then the series they move, read from the agent's
own /metrics and from devstack's Prometheus, which scrapes both JVMs.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from cassandra.query import SimpleStatement

from devstack import jmx_exporter
from devstack.components import prometheus as prometheus_component
from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.prometheus import Prometheus
from tests.support.keyspaces import SIMPLE_RF1, connect, topics

DEADLINE_SECONDS = 60.0


def _series(port: int) -> dict[str, float]:
    """The agent's samples, `name{labels}` -> value."""
    text = httpx.get(f"http://{jmx_exporter.HOST}:{port}/metrics", timeout=10.0).text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


def _wait(what: str, probe: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not probe():
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE_SECONDS:.0f}s"
        time.sleep(0.5)


def test_every_rule_is_a_valid_pattern_with_a_prometheus_name() -> None:
    for config in (jmx_exporter.CASSANDRA_CONFIG, jmx_exporter.KAFKA_CONFIG):
        for rule in config["rules"]:
            re.compile(rule["pattern"])  # Java's syntax and Python's agree on these
            assert re.fullmatch(r"[a-z_$0-9]+", rule["name"]), rule["name"]
            assert rule["type"] in {"GAUGE", "COUNTER", "UNTYPED"}
            # A COUNTER gets `_total` appended: only names that end so are counters.
            assert (rule["type"] == "COUNTER") == rule["name"].endswith("_total"), rule


def test_prometheus_scrapes_both_agents(prometheus: Prometheus) -> None:
    scrape_configs = prometheus.config()["scrape_configs"]
    assert isinstance(scrape_configs, list)
    jobs = {job["job_name"]: job for job in scrape_configs}
    assert jobs["cassandra"]["static_configs"] == [
        {"targets": [f"{jmx_exporter.HOST}:{jmx_exporter.CASSANDRA_PORT}"]}
    ]
    assert jobs["kafka"]["static_configs"] == [
        {"targets": [f"{jmx_exporter.HOST}:{jmx_exporter.KAFKA_PORT}"]}
    ]
    assert prometheus_component.CASSANDRA_METRICS.endswith(f":{jmx_exporter.CASSANDRA_PORT}")


def test_cassandra_requests_show_up_by_kind(cassandra: Cassandra) -> None:
    keyspace = f"jmx_{uuid.uuid4().hex[:12]}"
    db = connect(cassandra)
    try:
        replication = ", ".join(f"'{k}': '{v}'" for k, v in SIMPLE_RF1.items())
        db.execute(
            SimpleStatement(f"CREATE KEYSPACE {keyspace} WITH replication = {{{replication}}}"),
            timeout=60,
        )
        db.execute(SimpleStatement(f"CREATE TABLE {keyspace}.t (k int PRIMARY KEY, v int)"))
        before = _series(jmx_exporter.CASSANDRA_PORT)
        # A write, a read and a lightweight transaction (the table is a random name).
        for cql in (
            "INSERT INTO {t} (k, v) VALUES (1, 1)",
            "SELECT v FROM {t} WHERE k = 1",
            "INSERT INTO {t} (k, v) VALUES (2, 2) IF NOT EXISTS",
        ):
            db.execute(SimpleStatement(cql.format(t=f"{keyspace}.t")))
    finally:
        db.execute(SimpleStatement(f"DROP KEYSPACE IF EXISTS {keyspace}"), timeout=60)
        db.close()

    after = _series(jmx_exporter.CASSANDRA_PORT)
    for kind in ("Read", "Write", "CASWrite"):
        key = f'cassandra_client_request_latency_seconds_count{{request="{kind}"}}'
        assert after[key] > before.get(key, 0.0), key
        assert f'cassandra_client_request_latency_seconds_sum{{request="{kind}"}}' in after
    assert after["cassandra_storage_load_bytes"] > 0
    assert 'cassandra_client_request_timeouts_total{request="Read"}' in after
    # The agent's own JVM metrics come along; per-table beans do not.
    assert after['jvm_memory_used_bytes{area="heap"}'] > 0
    assert not [key for key in after if keyspace in key]


def test_kafka_records_show_up_broker_wide(kafka: Kafka) -> None:
    topic = f"jmx-{uuid.uuid4().hex[:12]}"
    before = _series(jmx_exporter.KAFKA_PORT)

    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
        await producer.start()
        try:
            for number in range(5):
                await producer.send_and_wait(topic, f"record {number}".encode())
        finally:
            await producer.stop()

    with topics(kafka, [topic]):
        asyncio.run(produce())
        after = _series(jmx_exporter.KAFKA_PORT)
    assert (
        after["kafka_server_messagesin_total"]
        >= before.get("kafka_server_messagesin_total", 0.0) + 5
    )
    key = 'kafka_network_request_seconds_count{request="Produce"}'
    assert after[key] >= before.get(key, 0.0) + 5
    assert after["kafka_controller_activecontrollercount"] == 1
    # Broker-wide beans only: no test topic ever becomes a label.
    assert not [key for key in after if topic in key]


@pytest.mark.usefixtures("cassandra", "kafka")
def test_prometheus_has_both_jobs_up(prometheus: Prometheus) -> None:
    def up() -> bool:
        answer = httpx.get(
            f"{prometheus.url}/api/v1/query",
            params={"query": 'up{job=~"cassandra|kafka"} == 1'},
            timeout=10.0,
        ).json()
        return {s["metric"]["job"] for s in answer["data"]["result"]} == {"cassandra", "kafka"}

    _wait("cassandra and kafka scraped by Prometheus", up)
