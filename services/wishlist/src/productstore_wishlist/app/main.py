"""The wishlist service's app: `create_app()` (a factory, `uvicorn --factory ...:create_app`)."""

from __future__ import annotations

from fastapi import FastAPI

from productstore_common.events import ConsumerConfig, ConsumerMetrics, IdempotentConsumer
from productstore_common.kit import ServiceKit, service_app
from productstore_common.kit.connections import create_topics
from productstore_contracts.services import WISHLIST
from productstore_wishlist import __version__
from productstore_wishlist.app.api.routes import shared, wishlists
from productstore_wishlist.app.core.config import WishlistSettings
from productstore_wishlist.app.data import migrations_dir
from productstore_wishlist.app.data.callees import Callees
from productstore_wishlist.app.data.notices import NoticeStore
from productstore_wishlist.app.data.wishlists import WishlistStore
from productstore_wishlist.app.services.events import (
    PRICE_TYPES,
    STOCK_TYPES,
    WatchedEvents,
    price_registry,
    stock_registry,
)
from productstore_wishlist.app.services.metrics import WishlistMetrics
from productstore_wishlist.app.services.notices import Notices
from productstore_wishlist.app.services.waves import WaveTicker
from productstore_wishlist.app.services.wishlists import Wishlists

DESCRIPTION = """\
Wishlists with share links, and notices when a wishlisted product gets cheaper or
comes back in stock.

A signed-in user keeps lists of catalog products, shares one by an unguessable
read-only link (revoking it stops the link at once), follows others' shared lists
and puts an item in the cart (the orders service's cart, in the user's name).
Owners and followers hear about a price drop or a return to stock once per product
and day: WishlistPriceDropped and WishlistBackInStock go out on
`productstore.wishlist` for the notifications service (back in stock in waves no
larger than the units available). Errors are `application/problem+json` with a
stable `reason`.
"""

OPENAPI_TAGS = [
    {"name": "wishlists", "description": "The signed-in user's lists, links and to-cart"},
    {"name": "shared wishlists", "description": "Lists shared by link: read and follow"},
]


def create_app(settings: WishlistSettings | None = None) -> FastAPI:
    """The wishlist app; settings from the environment (`WISHLIST_*`) unless given."""
    return service_app(
        WISHLIST,
        settings or WishlistSettings(),
        version=__version__,
        description=DESCRIPTION,
        # The shared routes first: /shared/{token} is no list id either way.
        routers=[shared.router, wishlists.router],
        setup=setup,
        migrations=migrations_dir(),
        openapi_tags=OPENAPI_TAGS,
    )


async def setup(kit: ServiceKit[WishlistSettings]) -> None:
    settings = kit.settings
    db = await kit.cassandra()
    outbox = await kit.outbox(settings.events_topic)
    callees = await kit.enter(
        Callees(
            str(settings.catalog_url),
            str(settings.orders_url),
            timeout=settings.callee_timeout_seconds,
        )
    )
    lists = WishlistStore(db)
    kit.provide(
        Wishlists(
            lists, callees, max_wishlists=settings.max_wishlists, max_items=settings.max_items
        )
    )
    notices = kit.provide(
        Notices(
            lists,
            NoticeStore(db, outbox),
            WishlistMetrics.of(kit.metrics),
            concurrency=settings.fanout_concurrency,
            batch=settings.fanout_batch,
            wave_interval=settings.restock_wave_interval_seconds,
        )
    )
    if not settings.consume_events:
        return
    if settings.creates_topics:
        # The catalog and inventory create their topics in clusters; locally they may
        # not run yet.
        await create_topics(settings, [settings.catalog_topic, settings.inventory_topic])
    handler = WatchedEvents(notices).handle
    metrics = ConsumerMetrics(kit.metrics.registry)
    # A fan-out to thousands of lists takes longer than the kit's default 30 s.
    timeout = settings.handler_timeout_seconds
    config = ConsumerConfig(handler_timeout=timeout, claim_ttl_seconds=int(5 * (timeout + 5)) + 60)
    await kit.enter(
        IdempotentConsumer(
            db,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=f"{settings.consumer_group}-prices",
            topics=[settings.catalog_topic],
            registry=price_registry(),
            handler=handler,
            handles=PRICE_TYPES,
            config=config,
            metrics=metrics,
            tracer_provider=kit.tracer_provider,
        )
    )
    await kit.enter(
        IdempotentConsumer(
            db,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=f"{settings.consumer_group}-stock",
            topics=[settings.inventory_topic],
            registry=stock_registry(),
            handler=handler,
            handles=STOCK_TYPES,
            config=ConsumerConfig(
                handler_timeout=timeout,
                claim_ttl_seconds=int(5 * (timeout + 5)) + 60,
                dedupe=False,
            ),
            metrics=metrics,
            tracer_provider=kit.tracer_provider,
        )
    )
    await kit.enter(WaveTicker(notices, every=settings.restock_tick_seconds))
