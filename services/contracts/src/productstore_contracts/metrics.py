"""The services' HTTP metrics as the operator's SLO rules read them.

The service kit (``productstore_common.telemetry.metrics``) exports these and
the operator's rule builder queries them, so names, labels and histogram
buckets are written once, here.
"""

from __future__ import annotations

from typing import Final

REQUESTS_TOTAL: Final = "http_requests_total"
REQUEST_DURATION: Final = "http_request_duration_seconds"

# Upper bounds (seconds) of the request-duration histogram. Dense around the
# 100-250 ms targets so a quantile near them is precise; a latency SLO's
# threshold must be one of them (the share of requests under it is a bucket).
LATENCY_BUCKETS: Final = (
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)

# Routes that are the platform's, not the users': probes and the scrape itself.
OPERATIONAL_ROUTES: Final = ("/healthz", "/readyz", "/metrics")
READINESS_ROUTE: Final = "/readyz"

# Methods whose requests are reads (the latency SLO's default scope).
READ_METHODS: Final = ("GET", "HEAD")


def bucket_label(bound: float) -> str:
    """The ``le`` label prometheus_client writes for ``bound`` (Go's float format)."""
    return repr(float(bound))
