"""What the reviews tests share: settings on devstack, users of their own, the event log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.redis import Redis
from productstore_contracts.events.reviews import REVIEW_EVENTS
from productstore_reviews.app.core.config import ReviewsSettings
from tests.auth.support import PASSWORD, unique_email
from tests.support.event_log import TopicLog

DEADLINE_SECONDS = 60.0


@dataclass(frozen=True)
class Backing:
    keyspace: str
    events_topic: str
    # Where the module's order events (the deliveries reviews learns from) are sent;
    # None: reviews consumes no order events.
    orders_topic: str | None = None


def reviews_settings(
    cassandra: Cassandra,
    kafka: Kafka,
    redis_server: Redis,
    backing: Backing,
    jwks_url: str,
    **overrides: Any,
) -> ReviewsSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "cassandra_contact_points": cassandra.contact_points,
        "cassandra_port": cassandra.port,
        "cassandra_username": cassandra.username,
        "cassandra_password": cassandra.password,
        "cassandra_local_dc": cassandra.local_dc,
        "cassandra_keyspace": backing.keyspace,
        "cassandra_consistency": "ONE",
        "migrate_on_start": False,
        "kafka_bootstrap_servers": kafka.bootstrap_servers,
        "redis_url": redis_server.env()["REDIS_URL"],
        "events_topic": backing.events_topic,
        "consume_orders": backing.orders_topic is not None,
        "consumer_group": f"reviews-test-{uuid.uuid4().hex[:12]}",
        "create_topics": False,
        "jwt_jwks_url": jwks_url,
    }
    if backing.orders_topic is not None:
        values["orders_topic"] = backing.orders_topic
    values.update(overrides)
    return ReviewsSettings(**values)


def new_user_token(auth_url: str) -> str:
    """A freshly registered user's access token."""
    with httpx.Client(base_url=auth_url, timeout=30) as http:
        email = unique_email("reviewer")
        http.post(
            "/api/auth/register", json={"email": email, "name": "Reviewer", "password": PASSWORD}
        ).raise_for_status()
        login = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        token: str = login.raise_for_status().json()["access_token"]
        return token


class EventLog(TopicLog):
    """Every review event of the module's topic, read from its start."""

    def __init__(self, kafka: Kafka, topic: str) -> None:
        super().__init__(kafka, topic, REVIEW_EVENTS, name="reviews")
