"""`service_app`: a Product Store service from its descriptor, routers and setup.

    def create_app(settings: CatalogSettings | None = None) -> FastAPI:
        return service_app(
            CATALOG,
            settings or CatalogSettings(),
            version=__version__,
            description=DESCRIPTION,
            routers=[products.router, categories.router],
            setup=setup,
        )

    async def setup(kit: ServiceKit[CatalogSettings]) -> None:
        db = await kit.cassandra()
        kit.provide(Catalog(ProductStore(db), ...))

The kit owns what every service does the same way: the app (logs, traces, RED
metrics, problem+json, request ids, gzip, `/healthz`, `/readyz`), token
verification with auth's JWKS for a service that calls auth, Cassandra (connect,
migrations, readiness), Redis, the outbox and its relay, and closing all of it
in reverse order at stop. The service's setup builds its own objects from these
and registers what its routes use (`kit.provide`).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, FastAPI
from starlette.middleware import Middleware

from productstore_common.app import create_app
from productstore_common.auth import AuthConfig, auth_lifespan
from productstore_common.cassandra import CassandraSession
from productstore_common.cassandra.metrics import CassandraClientMetrics
from productstore_common.events import Outbox, OutboxRelay, RelayMetrics
from productstore_common.health import ReadinessChecks, readiness_of
from productstore_common.kit.connections import (
    Redis,
    connect_cassandra,
    create_topics,
    redis_client,
    redis_reader,
)
from productstore_common.kit.container import Container
from productstore_common.redis_reader import RedisReader
from productstore_common.settings import ServiceSettings
from productstore_common.telemetry.metrics import AppMetrics, metrics_of
from productstore_contracts.descriptor import ServiceDescriptor

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)
T = TypeVar("T")


class ServiceKit(Generic[SettingsT]):
    """What a service's setup gets: its settings, the app's metrics and readiness, and
    connections made on request and closed, in reverse order, when the app stops."""

    def __init__(
        self,
        app: FastAPI,
        descriptor: ServiceDescriptor,
        settings: SettingsT,
        stack: AsyncExitStack,
        migrations: Path | None,
    ) -> None:
        self.app = app
        self.descriptor = descriptor
        self.settings = settings
        self._stack = stack
        self._migrations = migrations
        self._cassandra: CassandraSession | None = None

    @property
    def metrics(self) -> AppMetrics:
        return metrics_of(self.app)

    @property
    def readiness(self) -> ReadinessChecks:
        return readiness_of(self.app)

    @property
    def tracer_provider(self) -> Any:
        return self.app.state.tracer_provider

    @property
    def container(self) -> Container:
        container: Container = self.app.state.container
        return container

    def provide(self, item: T, as_type: type[T] | None = None) -> T:
        """Make `item` available to routes (`Depends(provide(Type))`)."""
        return self.container.add(item, as_type)

    async def enter(self, context: AbstractAsyncContextManager[T]) -> T:
        """Enter `context` now and exit it when the app stops."""
        return await self._stack.enter_async_context(context)

    def on_stop(self, callback: Callable[[], object]) -> None:
        """Call `callback` (awaiting what it returns, if anything) when the app stops,
        before what was set up earlier closes."""

        async def call() -> None:
            result = callback()
            if inspect.isawaitable(result):
                await result

        self._stack.push_async_callback(call)

    async def cassandra(self) -> CassandraSession:
        """The service's Cassandra session (one per process), migrated if the settings
        ask; it is a readiness check named `cassandra`."""
        if self._cassandra is None:
            if self._migrations is None:
                raise RuntimeError(
                    f"{self.descriptor.name} has no migrations folder: pass migrations= "
                    "to service_app"
                )
            db = await connect_cassandra(self.settings, self._migrations)
            db.observer = CassandraClientMetrics(self.metrics).observe
            self._stack.callback(db.close)
            self.readiness.add("cassandra", db.ready)
            self._cassandra = db
        return self._cassandra

    def redis(self) -> Redis:
        """A redis.asyncio client with short timeouts, closed at stop."""
        client = redis_client(self.settings)
        self._stack.push_async_callback(client.aclose)
        return client

    def redis_reader(self, purpose: str, *, traced: bool = True) -> RedisReader:
        """A pipelined reader (`CLIENT SETNAME <service>-<purpose>`), closed at stop."""
        reader = redis_reader(self.settings, purpose, traced=traced)
        self._stack.push_async_callback(reader.aclose)
        return reader

    async def outbox(self, topic: str) -> Outbox:
        """The transactional outbox to `topic` with its relay running in-process; the
        topic (and its .dlq) is created first when the settings ask. `topic` is the one
        the descriptor produces to, unless settings changed it (tests, benchmarks)."""
        if self.settings.creates_topics:
            await create_topics(self.settings, [topic])
        db = await self.cassandra()
        outbox = await Outbox.create(db, topic=topic)
        relay = OutboxRelay(
            db,
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            outbox=outbox,
            metrics=RelayMetrics(self.metrics.registry),
            tracer_provider=self.tracer_provider,
        )
        await self.enter(relay)
        return outbox


Setup = Callable[[ServiceKit[SettingsT]], Awaitable[None]]
"""Builds the service's objects at start-up and registers them (`kit.provide`)."""


def service_app(
    descriptor: ServiceDescriptor,
    settings: SettingsT,
    *,
    version: str,
    description: str,
    routers: Sequence[APIRouter],
    setup: Setup[SettingsT],
    migrations: Path | None = None,
    openapi_tags: list[dict[str, Any]] | None = None,
    inner_middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """The service's app (`create_app` of productstore_common.app, wired by the kit).

    `routers` are included in order (list a literal path before a parameterised one
    that would match it). A service that calls auth verifies access tokens with its
    JWKS (`CurrentUser`, `AdminUser`, ... work in its routes)."""
    container = Container()
    container.add(settings)
    lifespans = []
    if descriptor.verifies_tokens:
        # Role checks read the role epochs auth writes to the shared Redis.
        config = AuthConfig.from_settings(settings, role_epochs="redis" in descriptor.dependencies)
        lifespans.append(auth_lifespan(config))
    lifespans.append(_setup_lifespan(descriptor, settings, setup, migrations))
    app = create_app(
        settings,
        title=f"Product Store {descriptor.name}",
        version=version,
        description=description,
        routers=routers,
        inner_middleware=inner_middleware,
        lifespans=lifespans,
        openapi_tags=openapi_tags,
    )
    app.state.container = container
    app.state.descriptor = descriptor
    return app


def _setup_lifespan(
    descriptor: ServiceDescriptor,
    settings: SettingsT,
    setup: Setup[SettingsT],
    migrations: Path | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await setup(ServiceKit(app, descriptor, settings, stack, migrations))
            yield

    return lifespan
