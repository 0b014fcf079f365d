"""The inventory service's app: `create_app()` (a factory, `uvicorn --factory ...:create_app`)."""

from __future__ import annotations

from fastapi import FastAPI

from productstore_common.events import (
    ConsumerConfig,
    ConsumerMetrics,
    EventRegistry,
    IdempotentConsumer,
)
from productstore_common.kit import ServiceKit, service_app
from productstore_common.kit.connections import create_topics
from productstore_contracts.events.inventory import INVENTORY_EVENTS
from productstore_contracts.services import INVENTORY
from productstore_inventory import __version__
from productstore_inventory.app.api.routes import inventory, stream
from productstore_inventory.app.core.config import InventorySettings
from productstore_inventory.app.data import migrations_dir
from productstore_inventory.app.data.sales import SalesStore
from productstore_inventory.app.data.stock import StockStore
from productstore_inventory.app.services.low_stock_watch import LowStockWatch
from productstore_inventory.app.services.metrics import InventoryMetrics
from productstore_inventory.app.services.order_events import (
    HANDLED,
    OrderEvents,
    order_registry,
)
from productstore_inventory.app.services.reorder import ReorderDefaults, ReorderPlanner
from productstore_inventory.app.services.reservations import Reservations
from productstore_inventory.app.services.stock import StockLevels
from productstore_inventory.app.services.stream import StockFeed, StreamMetrics
from productstore_inventory.app.services.sweeper import Sweeper

DESCRIPTION = """\
Stock per product and location, and reservations that never oversell.

Administrators (`admin` role) set stock, list what runs low, get reorder
suggestions (quantity, date and the forecast, lead time and safety stock behind
them) and follow stock changes live (Server-Sent Events); anyone reads a
product's stock. Order events (OrderPlaced, OrderPaid, OrderCancelled,
OrderExpired on `productstore.orders`) hold, sell, release and restock units;
the outcomes and every stock change are published on `productstore.inventory`
(StockReserved, StockShortfall, StockReleased, StockCommitted,
StockCommitRefused, StockChanged, LowStock, BackInStock). Errors are
`application/problem+json` with a stable `reason`.
"""

OPENAPI_TAGS = [{"name": "inventory", "description": "Stock levels (admins write)"}]


def create_app(settings: InventorySettings | None = None) -> FastAPI:
    """The inventory app; settings from the environment (`INVENTORY_*`) unless given."""
    return service_app(
        INVENTORY,
        settings or InventorySettings(),
        version=__version__,
        description=DESCRIPTION,
        # The stream first: `/stream` is not a product id.
        routers=[stream.router, inventory.router],
        setup=setup,
        migrations=migrations_dir(),
        openapi_tags=OPENAPI_TAGS,
    )


async def setup(kit: ServiceKit[InventorySettings]) -> None:
    settings = kit.settings
    db = await kit.cassandra()
    outbox = await kit.outbox(settings.events_topic)
    metrics = InventoryMetrics.of(kit.metrics)
    store = StockStore(db, resolved_hold_ttl_seconds=settings.resolved_hold_ttl_seconds)
    levels = kit.provide(StockLevels(store, outbox, metrics))
    sales = SalesStore(db)
    kit.provide(
        ReorderPlanner(
            store,
            sales,
            levels,
            ReorderDefaults(
                lead_time_days=settings.reorder_lead_time_days,
                review_period_days=settings.reorder_review_period_days,
                service_level=settings.reorder_service_level,
                history_days=settings.forecast_history_days,
                alpha=settings.forecast_alpha,
                beta=settings.forecast_beta,
            ),
        )
    )
    reservations = kit.provide(
        Reservations(
            store,
            outbox,
            levels,
            metrics,
            hold_seconds=settings.hold_seconds,
            cas_deadline_seconds=settings.cas_deadline_seconds,
            sales=sales,
        )
    )
    kit.provide(
        await kit.enter(
            StockFeed(
                bootstrap_servers=settings.kafka_bootstrap_servers,
                topic=settings.events_topic,
                registry=EventRegistry(INVENTORY_EVENTS),
                metrics=StreamMetrics.of(kit.metrics),
                max_streams=settings.stream_max_connections,
                queue_size=settings.stream_queue_size,
                replay_size=settings.stream_replay_size,
            )
        )
    )
    await kit.enter(
        Sweeper(
            reservations,
            interval_seconds=settings.sweep_interval_seconds,
            lookback_seconds=settings.sweep_lookback_seconds,
        )
    )
    await kit.enter(
        LowStockWatch(levels, metrics, interval_seconds=settings.low_stock_watch_seconds)
    )
    if settings.consume_orders:
        if settings.creates_topics:
            # The orders service creates its topic in clusters; locally it may not run yet.
            await create_topics(settings, [settings.orders_topic])
        await kit.enter(
            IdempotentConsumer(
                db,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                group_id=settings.consumer_group,
                topics=[settings.orders_topic],
                registry=order_registry(),
                handler=OrderEvents(reservations).handle,
                handles=HANDLED,
                config=ConsumerConfig(
                    key_concurrency=settings.consumer_key_concurrency,
                    dedupe=settings.consumer_dedupe,
                ),
                metrics=ConsumerMetrics(kit.metrics.registry),
                tracer_provider=kit.tracer_provider,
            )
        )
