"""Client-side metrics of the Cassandra driver's requests, on the app's registry.

What a service sees of Cassandra (requests, their latency, their failures by
kind) until the cluster's own JMX metrics are scraped; the Cassandra dashboard
reads these. Labels are a closed set: the error kind, never the statement.
"""

from __future__ import annotations

import asyncio
from typing import Final

from cassandra import OperationTimedOut, ReadTimeout, Unavailable, WriteTimeout
from cassandra.cluster import NoHostAvailable

from productstore_common.telemetry.metrics import AppMetrics

ERROR_KINDS: Final = ("timeout", "unavailable", "other")


def error_kind(exc: BaseException) -> str | None:
    """The error label of a failed request; None for a cancelled one (not Cassandra's doing)."""
    if isinstance(exc, asyncio.CancelledError):
        return None
    if isinstance(exc, OperationTimedOut | ReadTimeout | WriteTimeout):
        return "timeout"
    if isinstance(exc, Unavailable | NoHostAvailable):
        return "unavailable"
    return "other"


class CassandraClientMetrics:
    """Times every request a ``CassandraSession`` sends and counts its failures."""

    def __init__(self, metrics: AppMetrics) -> None:
        self.duration = metrics.histogram(
            "cassandra_client_request_duration_seconds",
            "Time from sending a CQL request to its result or failure, as the driver sees it.",
        )
        errors = metrics.counter(
            "cassandra_client_request_errors_total",
            "CQL requests that failed, by kind (timeout, unavailable, other).",
            ("error",),
        )
        # Every kind exists from the start, at 0, so a rate is 0 rather than absent.
        self._errors = {kind: errors.labels(kind) for kind in ERROR_KINDS}

    def observe(self, seconds: float, exc: BaseException | None) -> None:
        self.duration.observe(seconds)
        if exc is not None:
            kind = error_kind(exc)
            if kind is not None:
                self._errors[kind].inc()
