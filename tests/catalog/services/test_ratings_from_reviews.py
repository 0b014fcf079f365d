"""A product's rating follows its published reviews, end to end on devstack: the reviews
app writes, its relay publishes ReviewPublished/ReviewRemoved on the real Kafka, the
catalog's ratings consumer keeps each review's newest state and writes the product, and
search's `min_rating` filter and `rating` sort see it."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.redis import Redis
from productstore_reviews.app.data import migrations_dir as reviews_migrations
from productstore_reviews.app.main import create_app as create_reviews_app
from tests.catalog.conftest import JWKS_PATH
from tests.catalog.support import (
    AuthServer,
    Backing,
    Tokens,
    asgi_client,
    create_category,
    create_product,
    wait_ready,
)
from tests.reviews.support import Backing as ReviewsBacking
from tests.reviews.support import new_user_token, reviews_settings
from tests.support.keyspaces import migrated_keyspace
from tests.support.problems import bearer

pytestmark = pytest.mark.anyio

DEADLINE_SECONDS = 60.0
# Texts the classifier publishes, by rating (their sentiment agrees with the stars).
TEXTS = {
    1: "Terrible quality, it broke after two days.",
    2: "Disappointing, the fabric is thin and the colour is off.",
    3: "It is a kettle. It boils water as described.",
    4: "Good kettle, works well, the lid is a bit stiff.",
    5: "Excellent kettle, quiet and fast, I love it.",
}


@pytest.fixture(scope="module")
def reviews_backing(cassandra: Cassandra, backing: Backing) -> Iterator[ReviewsBacking]:
    """Reviews' keyspace; its events go to the topic the catalog reads."""
    found = ReviewsBacking(
        keyspace=f"reviews_{uuid.uuid4().hex[:12]}", events_topic=backing.reviews_topic
    )
    with migrated_keyspace(cassandra, found.keyspace, reviews_migrations()):
        yield found


@pytest.fixture(scope="module")
async def reviews(
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    reviews_backing: ReviewsBacking,
    auth_server: AuthServer,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = reviews_settings(
        cassandra, kafka, redis_server, reviews_backing, auth_server.url + JWKS_PATH
    )
    running = create_reviews_app(settings)
    async with running.router.lifespan_context(running):
        await wait_ready(running)
        async with asgi_client(running) as client:
            yield client


async def _published(reviews: httpx.AsyncClient, product_id: str) -> list[int]:
    """Every published review's rating, through the reviews API's pages."""
    ratings: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"product_id": product_id, "limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = (await reviews.get("/api/reviews", params=params)).json()
        ratings += [item["rating"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ratings


async def _wait_rating(
    client: httpx.AsyncClient, product_id: str, average: float | None, count: int
) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        product: dict[str, Any] = (await client.get(f"/api/products/{product_id}")).json()
        if product["rating"] == {"average": average, "count": count}:
            return product
        assert time.monotonic() < deadline, (product["rating"], average, count)
        await asyncio.sleep(0.1)


async def test_the_rating_matches_the_published_reviews_after_concurrent_writes(
    app: FastAPI,
    client: httpx.AsyncClient,
    reviews: httpx.AsyncClient,
    tokens: Tokens,
    auth_server: AuthServer,
) -> None:
    slug = await create_category(client, tokens.admin)
    product = await create_product(client, tokens.admin, slug)
    unrated = await create_product(client, tokens.admin, slug)
    rng = random.Random(13)  # noqa: S311 - a reproducible mix of writes, not a secret
    authors = [await asyncio.to_thread(new_user_token, auth_server.url) for _ in range(12)]

    async def write(token: str) -> None:
        rating = rng.randint(1, 5)
        created = await reviews.post(
            "/api/reviews",
            json={"product_id": product["id"], "rating": rating, "body": TEXTS[rating]},
            headers=bearer(token),
        )
        assert created.status_code == 201, created.text
        path = f"/api/reviews/{created.json()['id']}"
        action = rng.choice(["keep", "edit", "delete", "edit-then-delete"])
        if action.startswith("edit"):
            new = rng.randint(1, 5)
            edited = await reviews.patch(
                path, json={"rating": new, "body": TEXTS[new]}, headers=bearer(token)
            )
            assert edited.status_code == 200, edited.text
        if action.endswith("delete"):
            assert (await reviews.delete(path, headers=bearer(token))).status_code == 204

    await asyncio.gather(*(write(token) for token in authors))
    ratings = await _published(reviews, product["id"])
    assert ratings, "the seed left no published review; pick another"
    average = round(sum(ratings) / len(ratings), 2)
    shown = await _wait_rating(client, product["id"], average, len(ratings))

    # Search sees the same rating: the filter and the sort.
    found = await client.get(
        "/api/products/search",
        params={"category": slug, "min_rating": average, "sort_by": "rating"},
    )
    assert [item["id"] for item in found.json()["items"]] == [product["id"]], found.text
    by_rating = await client.get(
        "/api/products/search", params={"category": slug, "sort_by": "rating"}
    )
    assert [item["id"] for item in by_rating.json()["items"]] == [product["id"], unrated["id"]]
    assert shown["rating"]["count"] == len(ratings)
