"""The reviews service's app: `create_app()` (a factory, `uvicorn --factory ...:create_app`)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from productstore_common.events import ConsumerMetrics, IdempotentConsumer
from productstore_common.kit import ServiceKit, service_app
from productstore_common.kit.connections import create_topics
from productstore_contracts.services import REVIEWS
from productstore_reviews import __version__
from productstore_reviews.app.api.routes import reviews
from productstore_reviews.app.core.config import ReviewsSettings
from productstore_reviews.app.data import migrations_dir
from productstore_reviews.app.data.purchases import PurchaseStore
from productstore_reviews.app.data.reviews import ReviewStore
from productstore_reviews.app.services.metrics import ReviewsMetrics
from productstore_reviews.app.services.purchases import (
    HANDLED,
    DeliveredPurchases,
    orders_registry,
)
from productstore_reviews.app.services.reviews import Reviews
from productstore_reviews.moderation import Moderator

DESCRIPTION = """\
Product reviews with ratings, moderated offline as they are written.

Signed-in users write one review per product, edit or delete it, mark others'
reviews helpful and report them; anyone lists a product's published reviews
(helpful, newest or rating first). Every review gets a language, a sentiment
score and a decision (publish, queue for a moderator, reject) with reasons, from
models shipped in the service's wheels; administrators (`admin` role) work the
moderation queue. ReviewPublished and ReviewRemoved on `productstore.reviews`
keep each product's rating in the catalog. A review of a product the author
received (OrderDelivered on `productstore.orders`) is a verified purchase.
Errors are `application/problem+json` with a stable `reason`.
"""

OPENAPI_TAGS = [{"name": "reviews", "description": "Reviews, votes, reports, moderation"}]


def create_app(settings: ReviewsSettings | None = None) -> FastAPI:
    """The reviews app; settings from the environment (`REVIEWS_*`) unless given."""
    return service_app(
        REVIEWS,
        settings or ReviewsSettings(),
        version=__version__,
        description=DESCRIPTION,
        routers=[reviews.router],
        setup=setup,
        migrations=migrations_dir(),
        openapi_tags=OPENAPI_TAGS,
    )


async def setup(kit: ServiceKit[ReviewsSettings]) -> None:
    settings = kit.settings
    db = await kit.cassandra()
    outbox = await kit.outbox(settings.events_topic)
    # Loading py3langid's model takes a few seconds of CPU: not on the event loop.
    moderator = await asyncio.to_thread(Moderator)
    purchases = DeliveredPurchases(PurchaseStore(db))
    kit.provide(
        Reviews(
            ReviewStore(db, outbox),
            moderator,
            purchases,
            ReviewsMetrics.of(kit.metrics),
            reports_to_queue=settings.reports_to_queue,
            max_sorted=settings.max_sorted_reviews,
        )
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
                registry=orders_registry(),
                handler=purchases.handle,
                handles=HANDLED,
                metrics=ConsumerMetrics(kit.metrics.registry),
                tracer_provider=kit.tracer_provider,
            )
        )
