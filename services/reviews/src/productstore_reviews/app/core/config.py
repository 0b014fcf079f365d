"""The reviews service's settings: `ServiceSettings` plus events and moderation.

Environment variables with the `REVIEWS_` prefix; the shared connection variables
(`CASSANDRA_CONTACT_POINTS`, `KAFKA_BOOTSTRAP_SERVERS`, ...) are read too (see
productstore_common.settings). The full table is in the README.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from productstore_common.settings import ServiceSettings
from productstore_contracts.events.orders import ORDERS_TOPIC
from productstore_contracts.events.reviews import REVIEWS_TOPIC

_KAFKA_TOPIC = r"^[A-Za-z0-9._-]{1,200}$"


class ReviewsSettings(ServiceSettings):
    """Settings of the reviews service process."""

    model_config = SettingsConfigDict(env_prefix="REVIEWS_")

    service_name: str = Field(default="reviews", pattern=r"^[a-z][a-z0-9-]{0,62}$")
    cassandra_keyspace: str = Field(default="reviews", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,47}$")

    # ReviewPublished / ReviewRemoved go here through the outbox.
    events_topic: str = Field(default=REVIEWS_TOPIC, pattern=_KAFKA_TOPIC)
    # OrderDelivered events (the verified purchases) are consumed from orders_topic.
    orders_topic: str = Field(default=ORDERS_TOPIC, pattern=_KAFKA_TOPIC)
    consumer_group: str = Field(default="reviews", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    # Off: no delivery is learnt, so no new review is a verified purchase (tests, tools).
    consume_orders: bool = True
    # A published review with this many reports goes back to the moderators.
    reports_to_queue: int = Field(default=3, ge=1, le=1000)
    # The most reviews of one product a list sorts (newest first beyond it).
    max_sorted_reviews: int = Field(default=5000, ge=100, le=100_000)
