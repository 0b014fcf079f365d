"""Client-side Cassandra metrics: every async request timed, failures counted by kind."""

from __future__ import annotations

import pytest
from cassandra import OperationTimedOut
from cassandra.protocol import SyntaxException
from cassandra.query import SimpleStatement

from devstack.components.cassandra import Cassandra
from productstore_common.cassandra import CassandraSession
from productstore_common.cassandra.metrics import ERROR_KINDS, CassandraClientMetrics
from productstore_common.telemetry.metrics import AppMetrics
from tests.common.cassandra.support import connect

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _value(metrics: AppMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    assert value is not None, name
    return value


async def test_requests_are_timed_and_failures_counted_by_kind(cassandra: Cassandra) -> None:
    metrics = AppMetrics("test", process_metrics=False)
    db: CassandraSession = connect(cassandra)
    try:
        db.observer = CassandraClientMetrics(metrics).observe
        for kind in ERROR_KINDS:
            assert _value(metrics, "cassandra_client_request_errors_total", error=kind) == 0
        release = SimpleStatement("SELECT release_version FROM system.local")
        for _ in range(3):
            await db.execute_async(release)
        with pytest.raises(SyntaxException):
            await db.execute_async(SimpleStatement("SELEC nothing FROM nowhere"))
        with pytest.raises(OperationTimedOut):
            await db.execute_async(release, timeout=0.000001)
    finally:
        db.close()
    assert _value(metrics, "cassandra_client_request_duration_seconds_count") == 5
    assert _value(metrics, "cassandra_client_request_duration_seconds_sum") > 0
    assert _value(metrics, "cassandra_client_request_errors_total", error="other") == 1
    assert _value(metrics, "cassandra_client_request_errors_total", error="timeout") == 1
    assert _value(metrics, "cassandra_client_request_errors_total", error="unavailable") == 0
