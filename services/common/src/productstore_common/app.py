"""`create_app`: a FastAPI app with everything a Product Store service shares.

    app = create_app(
        settings,
        title="Catalog",
        version=__version__,
        routers=[products.router, categories.router],
        readiness_checks={"cassandra": cassandra_ready},
        lifespans=[cassandra_session],
    )

Wired in: JSON logs, OpenTelemetry traces (W3C traceparent in, traceresponse
out), Prometheus RED metrics and `/metrics`, `/healthz` and `/readyz`,
problem+json for every error (also in the OpenAPI document), X-Request-ID in
and out, gzip, and a 503 with Retry-After when a dependency is down
(productstore_common.outages).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.middleware import Middleware

from productstore_common.client_address import TrustedProxies
from productstore_common.compression import GZipMiddleware
from productstore_common.errors import (
    ProblemMiddleware,
    UnhandledErrorMiddleware,
    install_problem_handlers,
)
from productstore_common.health import ReadinessCheck, ReadinessChecks, health_router
from productstore_common.openapi import install_problem_openapi
from productstore_common.outages import DependencyOutages
from productstore_common.settings import ServiceSettings
from productstore_common.telemetry.clients import install_client_tracing
from productstore_common.telemetry.logs import configure_logging
from productstore_common.telemetry.metrics import AppMetrics, MetricsMiddleware, metrics_router
from productstore_common.telemetry.request_id import RequestIdMiddleware
from productstore_common.telemetry.tracing import (
    build_tracer_provider,
    install_global_tracer_provider,
    instrument_app,
    shutdown_tracing,
)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[object]]
"""A start-up/shutdown hook: entered in order at start, exited in reverse at stop."""

# Responses smaller than this are not worth the CPU of compressing.
GZIP_MINIMUM_BYTES = 1000

_logger = logging.getLogger(__name__)


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    version: str,
    description: str = "",
    routers: Sequence[APIRouter] = (),
    inner_middleware: Sequence[Middleware] = (),
    readiness_checks: Mapping[str, ReadinessCheck] | None = None,
    readiness_timeout_seconds: float = 2.0,
    lifespans: Sequence[Lifespan] = (),
    openapi_tags: list[dict[str, Any]] | None = None,
    openapi_url: str = "/openapi.json",
    docs_url: str | None = "/docs",
) -> FastAPI:
    """The service's app; `app.state` holds `settings`, `metrics`, `readiness`,
    `tracer_provider` for the service's own wiring.

    `inner_middleware` run innermost, first of the list outermost: after request
    id, metrics and gzip, before routing (a fast path answering without the
    router is still counted, traced and compressed)."""
    configure_logging(settings.service_name, settings.log_level, access_log=settings.access_log)
    tracer_provider = build_tracer_provider(settings, version)
    install_global_tracer_provider(tracer_provider)
    if settings.otlp_endpoint is not None:
        # Client spans (Redis, httpx, Cassandra) are only worth making when exported.
        install_client_tracing(tracer_provider)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            # Tracing stops last, so spans of the other hooks' shutdown are exported.
            stack.callback(shutdown_tracing, tracer_provider)
            for hook in lifespans:
                await stack.enter_async_context(hook(app))
            _logger.info("%s %s started", settings.service_name, version)
            yield
            _logger.info("%s %s stopping", settings.service_name, version)

    app = FastAPI(
        title=title,
        version=version,
        description=description,
        openapi_tags=openapi_tags,
        openapi_url=openapi_url,
        docs_url=docs_url,
        redoc_url=None,
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry spans and metrics would double ours
        # (telemetry.tracing's middleware; metrics in Prometheus).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    metrics = AppMetrics(settings.service_name)
    readiness = ReadinessChecks(readiness_checks, timeout_seconds=readiness_timeout_seconds)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.readiness = readiness
    app.state.tracer_provider = tracer_provider
    app.state.trusted_proxies = TrustedProxies.parse(settings.trusted_proxies)
    outages = DependencyOutages(
        metrics, retry_after_seconds=settings.dependency_retry_after_seconds
    )

    install_problem_handlers(app)
    install_problem_openapi(app)
    # The last added middleware runs first: the 500 of unhandled errors (so no
    # exception reaches uvicorn, which would close the connection), request id,
    # then metrics (timing the whole response including compression), then the 503
    # of a dependency's outage (inside metrics, so they count a 503, not a 500),
    # then gzip. The tracing middleware wraps them all, the error handler included.
    for middleware in reversed(inner_middleware):
        app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
    app.add_middleware(ProblemMiddleware, translate=outages.problem)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(UnhandledErrorMiddleware)
    instrument_app(app, tracer_provider)

    app.include_router(health_router(readiness))
    app.include_router(metrics_router(metrics))
    for router in routers:
        app.include_router(router)
    return app
