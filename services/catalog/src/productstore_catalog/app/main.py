"""The catalog service's app: `create_app()` (a factory, `uvicorn --factory ...:create_app`)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
from collections.abc import Callable

from fastapi import FastAPI
from starlette.middleware import Middleware

from productstore_catalog import __version__
from productstore_catalog.app.api.cached_reads import CachedReads, route_of
from productstore_catalog.app.api.routes import categories, products, search
from productstore_catalog.app.api.search_pages import SearchPages
from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.data import migrations_dir
from productstore_catalog.app.data.cache import ProductCache
from productstore_catalog.app.data.categories import CategoryStore
from productstore_catalog.app.data.feeds import Feed, versioned_feed
from productstore_catalog.app.data.no_results import NoResultLog
from productstore_catalog.app.data.products import ProductStore
from productstore_catalog.app.data.ratings import RatingStore
from productstore_catalog.app.data.ratings_feed import RATING_HANDLES, ratings_registry
from productstore_catalog.app.data.search_feed import SearchFeed, replica_group
from productstore_catalog.app.data.stock import StockStore
from productstore_catalog.app.data.stock_feed import STOCK_HANDLES, stock_registry
from productstore_catalog.app.services.catalog import Catalog
from productstore_catalog.app.services.no_results import NoResultSearches
from productstore_catalog.app.services.ratings import RatingEvents
from productstore_catalog.app.services.reads import CatalogReads
from productstore_catalog.app.services.search import ProductSearch
from productstore_catalog.app.services.stock import StockEvents
from productstore_catalog.search import SEARCH_KINDS, SearchIndex, SearchKind
from productstore_common.events import ConsumerMetrics
from productstore_common.kit import ServiceKit, service_app
from productstore_common.kit.connections import create_topics
from productstore_common.telemetry.metrics import AppMetrics
from productstore_contracts.services import CATALOG

_logger = logging.getLogger(__name__)

DESCRIPTION = """\
Products, categories and product search.

Everyone (no token needed) reads products and categories and searches;
administrators (`admin` role in an access token from the auth service) create,
change and delete them. Product writes are published as events
(ProductCreated, ProductUpdated, PriceChanged, ProductDeleted) on the Kafka
topic `productstore.catalog`. A product's `in_stock` follows the inventory
service (its StockChanged events on `productstore.inventory`) once inventory
has a stock level for it; until then it is what an administrator set. Its
`rating` (average and count) follows the reviews service's ReviewPublished and
ReviewRemoved on `productstore.reviews`: the mean of its published reviews.
Errors are `application/problem+json` with a stable `reason` where the client
can act on it.
"""

OPENAPI_TAGS = [
    {"name": "products", "description": "Products (admins write, everyone reads)"},
    {"name": "search", "description": "Full-text product search with filters and facets"},
    {"name": "categories", "description": "Categories (admins write, everyone reads)"},
]


def create_app(settings: CatalogSettings | None = None) -> FastAPI:
    """The catalog app; settings from the environment (`CATALOG_*`) unless given."""
    return service_app(
        CATALOG,
        settings or CatalogSettings(),
        version=__version__,
        description=DESCRIPTION,
        # search first: the products router's /{product_id} would take "search".
        routers=[search.router, products.router, categories.router],
        setup=setup,
        migrations=migrations_dir(),
        inner_middleware=[
            Middleware(
                CachedReads,
                product_route=route_of(products.router, products.get_product),
                search_route=route_of(search.router, search.search_products),
            )
        ],
        openapi_tags=OPENAPI_TAGS,
    )


def _cursor_key(settings: CatalogSettings) -> bytes:
    if settings.search_cursor_key is not None:
        return settings.search_cursor_key.get_secret_value().encode("utf-8")
    # Development only (the settings refuse a missing key elsewhere).
    return secrets.token_bytes(32)


async def setup(kit: ServiceKit[CatalogSettings]) -> None:
    """The catalog's objects: store, cache, search index and its feed, outbox; the
    writes (Catalog), the read model (CatalogReads) and its search pages."""
    settings, metrics = kit.settings, kit.metrics
    db = await kit.cassandra()
    redis = kit.redis()
    # A cached read's server span is the Redis read (api/cached_reads marks it).
    reader = kit.redis_reader("cache-reads", traced=False)
    outbox = await kit.outbox(settings.events_topic)

    store = ProductStore(db, outbox)
    page_lookups = metrics.counter(
        "catalog_search_page_cache_lookups_total",
        "Search pages looked up in the replica's page cache, by outcome (hit, miss).",
        ("outcome",),
    )
    hit, miss = page_lookups.labels("hit"), page_lookups.labels("miss")
    product_search = _product_search(metrics, store, _cursor_key(settings))
    # One per registry, shared by both consumers (series are labelled by group).
    consumer_metrics = ConsumerMetrics(metrics.registry)
    feed = SearchFeed(
        db,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=replica_group(settings.search_consumer_group_prefix),
        topic=settings.events_topic,
        handler=product_search.on_event,
        metrics=consumer_metrics,
    )
    await kit.enter(feed)
    loader = asyncio.create_task(
        _load_index(product_search, feed, settings.search_consumer_start_timeout_seconds),
        name="search-index-load",
    )
    kit.on_stop(lambda: _cancel(loader))

    cache = ProductCache(
        redis,
        reader,
        prefix=settings.redis_key_prefix,
        ttl_seconds=settings.cache_ttl_seconds,
        tombstone_seconds=settings.cache_tombstone_seconds,
    )
    catalog = kit.provide(
        Catalog(
            store, CategoryStore(db), cache, product_search, StockStore(db), ratings=RatingStore(db)
        )
    )
    # Each topic's service creates it in clusters; locally it may not run yet.
    followed: list[Feed] = []
    if settings.consume_stock:
        followed.append(
            Feed(
                topic=settings.inventory_topic,
                group_id=settings.stock_consumer_group,
                registry=stock_registry(),
                handles=STOCK_HANDLES,
                handler=StockEvents(catalog).handle,
            )
        )
    if settings.consume_ratings:
        followed.append(
            Feed(
                topic=settings.reviews_topic,
                group_id=settings.ratings_consumer_group,
                registry=ratings_registry(),
                handles=RATING_HANDLES,
                handler=RatingEvents(catalog).handle,
            )
        )
    for topic in followed:
        if settings.creates_topics:
            await create_topics(settings, [topic.topic])
        await kit.enter(
            versioned_feed(
                db,
                topic,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                metrics=consumer_metrics,
                tracer_provider=kit.tracer_provider,
            )
        )
    cache_reads = metrics.counter(
        "catalog_product_cache_reads_total",
        "Product reads by id, by cache outcome (hit, miss, tombstone, error).",
        ("outcome",),
    )
    reads = kit.provide(
        CatalogReads(
            store, cache, product_search, on_cache=lambda outcome: cache_reads.labels(outcome).inc()
        )
    )
    no_results = NoResultSearches(
        NoResultLog(
            redis,
            prefix=settings.redis_key_prefix,
            kept=settings.search_no_results_kept,
            retention_days=settings.search_no_results_retention_days,
        ),
        metrics,
        flush_seconds=settings.search_no_results_flush_seconds,
        refresh_seconds=settings.search_no_results_top_refresh_seconds,
        buffer_limit=settings.search_no_results_buffer,
    )
    kit.provide(await kit.enter(no_results.running()))
    kit.provide(
        SearchPages(
            reads,
            max_bytes=settings.search_page_cache_bytes,
            on_lookup=lambda found: (hit if found else miss).inc(),
            on_search=_search_counter(metrics),
            on_no_results=no_results.saw,
        )
    )
    kit.provide(product_search)
    kit.readiness.add("search_index", product_search.ready)


def _search_counter(metrics: AppMetrics) -> Callable[[SearchKind, bool], None]:
    """Counts searches and those that found nothing, by kind: a closed label set
    (SEARCH_KINDS, every one at 0 from the start), never the words searched."""
    searches = metrics.counter(
        "catalog_searches_total",
        "Searches answered (first pages: a search's next pages are not counted again), by "
        "kind (text: words given; filters: filters without words; all: neither).",
        ("kind",),
    )
    empty = metrics.counter(
        "catalog_searches_no_results_total",
        "Searches that matched no product, by kind (as catalog_searches_total).",
        ("kind",),
    )
    counted = {kind: (searches.labels(kind), empty.labels(kind)) for kind in SEARCH_KINDS}

    def count(kind: SearchKind, found: bool) -> None:
        total, nothing = counted[kind]
        total.inc()
        if not found:
            nothing.inc()

    return count


def _product_search(metrics: AppMetrics, store: ProductStore, cursor_key: bytes) -> ProductSearch:
    return ProductSearch(
        SearchIndex(cursor_key=cursor_key),
        store,
        indexed_gauge=metrics.gauge(
            "catalog_search_indexed_products", "Products in this replica's search index."
        ),
        duration=metrics.histogram(
            "catalog_search_duration_seconds",
            "Time to run one search in the in-memory index (without reading the products).",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
        ),
    )


async def _load_index(search: ProductSearch, feed: SearchFeed, timeout: float) -> None:
    """Wait until the feed is positioned at the topic's end, then load Cassandra: every
    write is either in the load or arrives as an event after it."""
    try:
        await asyncio.wait_for(feed.positioned.wait(), timeout)
    except TimeoutError:
        _logger.warning(
            "the search feed is not positioned after %.0f s (Kafka down?); loading the index "
            "anyway: other replicas' writes made before it starts are missing until restart",
            timeout,
        )
    while True:
        try:
            await search.load()
        except Exception:
            _logger.warning("search index load failed; retrying in 2 s", exc_info=True)
            await asyncio.sleep(2.0)
        else:
            # The loaded index and documents are long-lived objects that every full
            # collection of the cyclic GC walked (200-350 ms pauses at 100,000
            # products, about one a second under load). Frozen, they are left out of
            # collections; reference counting still frees what is replaced later.
            gc.freeze()
            return


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
