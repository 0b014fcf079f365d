"""Prometheus RED metrics by route template, business metrics, and `/metrics`.

Each app gets its own registry (`AppMetrics`), so two apps in one process (tests)
never collide. Requests are labelled by the route *template*
(`/api/products/{product_id}`), never the raw path, and every request that
matched no route shares one label: a scanner hitting random URLs cannot create
new time series.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from productstore_contracts import metrics as metric_names

UNMATCHED_ROUTE = "<unmatched>"

# The request-duration buckets; the operator's latency SLOs are written on them.
LATENCY_BUCKETS = metric_names.LATENCY_BUCKETS

_Metric = Counter | Histogram | Gauge

# Clients may send any token as a method; label the rest as one value.
_KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


class AppMetrics:
    """The metrics registry of one app, with its HTTP metrics pre-registered."""

    def __init__(self, service: str, *, process_metrics: bool = True) -> None:
        self.service = service
        # `*_created` series double the series count and no dashboard reads them.
        # The switch is process-wide, which is right for a service process.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        if process_metrics:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        self._metrics: dict[str, _Metric] = {}
        self.requests = self.counter(
            metric_names.REQUESTS_TOTAL,
            "HTTP requests handled, by route template and status code.",
            ("service", "method", "route", "status"),
        )
        self.duration = self.histogram(
            metric_names.REQUEST_DURATION,
            "Time from request start to the end of the response, by route template.",
            ("service", "method", "route"),
        )
        self.in_flight = self.gauge(
            "http_requests_in_flight",
            "HTTP requests being handled now.",
            ("service", "method"),
        )

    def counter(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Counter:
        """A counter on this app's registry; the same name returns the same counter."""
        existing = self._existing(name, Counter, labelnames)
        if existing is not None:
            assert isinstance(existing, Counter)  # noqa: S101 - checked by _existing
            return existing
        metric = Counter(name, documentation, labelnames, registry=self.registry)
        self._metrics[name] = metric
        return metric

    def histogram(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> Histogram:
        """A histogram on this app's registry (latency buckets unless told otherwise)."""
        existing = self._existing(name, Histogram, labelnames)
        if existing is not None:
            assert isinstance(existing, Histogram)  # noqa: S101 - checked by _existing
            return existing
        metric = Histogram(name, documentation, labelnames, registry=self.registry, buckets=buckets)
        self._metrics[name] = metric
        return metric

    def gauge(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Gauge:
        """A gauge on this app's registry."""
        existing = self._existing(name, Gauge, labelnames)
        if existing is not None:
            assert isinstance(existing, Gauge)  # noqa: S101 - checked by _existing
            return existing
        metric = Gauge(name, documentation, labelnames, registry=self.registry)
        self._metrics[name] = metric
        return metric

    def _existing(
        self, name: str, kind: type[_Metric], labelnames: Sequence[str]
    ) -> _Metric | None:
        metric = self._metrics.get(name)
        if metric is None:
            return None
        if not isinstance(metric, kind) or tuple(metric._labelnames) != tuple(labelnames):
            raise ValueError(
                f"metric {name} already exists as a {type(metric).__name__} with labels "
                f"{list(metric._labelnames)}"
            )
        return metric

    def render(self) -> bytes:
        """The registry in Prometheus text exposition format."""
        return generate_latest(self.registry)


def route_label(scope: Scope) -> str:
    """The template of the route that handled the request, or `UNMATCHED_ROUTE`."""
    # FastAPI (>= 0.137) keeps the route of an included router, whose own
    # path_format lacks the include prefixes, beside its effective context, which
    # has the full template. Plain routes have only `scope["route"]`.
    fastapi_scope = scope.get("fastapi")
    effective = (
        fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    )
    for candidate in (effective, scope.get("route")):
        path_format = getattr(candidate, "path_format", None)
        if isinstance(path_format, str) and path_format:
            return path_format
    return UNMATCHED_ROUTE


class MetricsMiddleware:
    """Counts and times every HTTP request (pure ASGI: no per-request task or copy)."""

    def __init__(self, app: ASGIApp, metrics: AppMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._in_flight_children: dict[str, Gauge] = {}
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in _KNOWN_METHODS else "OTHER"
        status = 500  # if the app raises before answering, the client gets a 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        in_flight = self._in_flight(method)
        in_flight.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            elapsed = time.perf_counter() - started
            in_flight.dec()
            # The router has written the matched route into the scope by now.
            requests, duration = self._children(method, route_label(scope), status)
            requests.inc()
            duration.observe(elapsed)

    # The labelled children, looked up once per label set: `labels()` validates and
    # locks on every call. The sets are bounded (known methods, route templates,
    # status codes), as the metrics' own series are.
    def _in_flight(self, method: str) -> Gauge:
        child = self._in_flight_children.get(method)
        if child is None:
            child = self.metrics.in_flight.labels(self.metrics.service, method)
            self._in_flight_children[method] = child
        return child

    def _children(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            service = self.metrics.service
            children = (
                self.metrics.requests.labels(service, method, route, str(status)),
                self.metrics.duration.labels(service, method, route),
            )
            self._request_children[key] = children
        return children


def metrics_of(app: FastAPI) -> AppMetrics:
    """The `AppMetrics` that `create_app` attached to `app`."""
    metrics = getattr(app.state, "metrics", None)
    if isinstance(metrics, AppMetrics):
        return metrics
    raise RuntimeError("this app has no metrics; build it with create_app")


def metrics_router(metrics: AppMetrics) -> APIRouter:
    """`GET /metrics` serving `metrics`' registry (not in the OpenAPI document)."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return router
