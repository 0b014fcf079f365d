"""The orders service's app: `create_app()` (a factory, `uvicorn --factory ...:create_app`)."""

from __future__ import annotations

from fastapi import FastAPI

from productstore_common.events import ConsumerConfig, ConsumerMetrics, IdempotentConsumer
from productstore_common.kit import ServiceKit, service_app
from productstore_common.kit.connections import create_topics
from productstore_common.payments import SandboxPaymentProvider
from productstore_contracts.services import ORDERS
from productstore_orders import __version__
from productstore_orders.app.api.routes import cart, orders
from productstore_orders.app.core.config import OrdersSettings
from productstore_orders.app.data import migrations_dir
from productstore_orders.app.data.carts import CartStore
from productstore_orders.app.data.orders import OrderStore
from productstore_orders.app.data.products import ProductDirectory
from productstore_orders.app.services.cart import Carts
from productstore_orders.app.services.checkout import Checkout, OrderReads
from productstore_orders.app.services.inventory_events import (
    HANDLED,
    InventoryEvents,
    inventory_registry,
)
from productstore_orders.app.services.lifecycle import Lifecycle
from productstore_orders.app.services.metrics import OrderMetrics

DESCRIPTION = """\
Carts, checkout and orders.

A signed-in user keeps a cart (priced by the catalog whenever it is read, saying
what changed since an item was added) and checks out with an `Idempotency-Key`:
the order is accepted `pending` at once (202) and moves on asynchronously as
inventory holds its stock (`reserved`) and the payment is authorised (`paid`), or
ends `rejected` (out of stock), `payment_failed`, `expired` or `cancelled`.
Admins fulfil (the payment is captured) and deliver. Order events (OrderPlaced,
OrderReserved, OrderPaid, OrderCancelled, OrderExpired, OrderFulfilled,
OrderDelivered) go out on `productstore.orders`.
Errors are `application/problem+json` with a stable `reason`.
"""

OPENAPI_TAGS = [
    {"name": "cart", "description": "The signed-in user's cart"},
    {"name": "orders", "description": "Checkout and orders (admins fulfil and deliver)"},
]


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    """The orders app; settings from the environment (`ORDERS_*`) unless given."""
    return service_app(
        ORDERS,
        settings or OrdersSettings(),
        version=__version__,
        description=DESCRIPTION,
        routers=[cart.router, orders.router],
        setup=setup,
        migrations=migrations_dir(),
        openapi_tags=OPENAPI_TAGS,
    )


async def setup(kit: ServiceKit[OrdersSettings]) -> None:
    settings = kit.settings
    db = await kit.cassandra()
    outbox = await kit.outbox(settings.events_topic)
    metrics = OrderMetrics.of(kit.metrics)
    directory = await kit.enter(
        ProductDirectory(
            str(settings.catalog_url),
            str(settings.inventory_url),
            timeout=settings.callee_timeout_seconds,
        )
    )
    payments = await kit.enter(
        SandboxPaymentProvider(
            str(settings.payments_url),
            api_key=(
                settings.payments_api_key.get_secret_value() if settings.payments_api_key else None
            ),
            timeout=settings.payments_timeout_seconds,
        )
    )
    store = OrderStore(db, outbox)
    carts = CartStore(db)
    kit.provide(Carts(carts, directory, metrics))
    kit.provide(Checkout(store, carts, directory, metrics, max_quantity=settings.max_quantity))
    kit.provide(OrderReads(store))
    lifecycle = kit.provide(Lifecycle(store, carts, payments, metrics))
    if settings.consume_inventory:
        if settings.creates_topics:
            # Inventory creates its topic in clusters; locally it may not run yet.
            await create_topics(settings, [settings.inventory_topic])
        await kit.enter(
            IdempotentConsumer(
                db,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                group_id=settings.consumer_group,
                topics=[settings.inventory_topic],
                registry=inventory_registry(),
                handler=InventoryEvents(lifecycle).handle,
                handles=HANDLED,
                config=ConsumerConfig(
                    key_concurrency=settings.consumer_key_concurrency,
                    dedupe=settings.consumer_dedupe,
                ),
                metrics=ConsumerMetrics(kit.metrics.registry),
                tracer_provider=kit.tracer_provider,
            )
        )
