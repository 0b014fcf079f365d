"""Payloads of the reviews service's events (topic `productstore.reviews`, key = product id).

A review counts towards its product's rating while it is published. ReviewPublished
says it is (again, or with a new rating after an edit); ReviewRemoved says it no
longer is (deleted by its author, rejected, taken back for moderation after an edit
or reports). ReviewModerated tells its author a moderation outcome (notifications).
`version` grows with every write of the review, so a consumer keeps the
newest state per review whatever order the events arrive in, and the same fact
published twice changes nothing.
"""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from productstore_contracts.events import EventPayload

REVIEWS_SOURCE = "/productstore/reviews"
REVIEWS_TOPIC = "productstore.reviews"

RemovalReason = Literal["deleted", "rejected", "edited", "reported"]
ModerationOutcome = Literal["approved", "rejected"]
DecidedBy = Literal["moderator", "automatic"]


class _ReviewState(EventPayload):
    review_id: UUID
    product_id: UUID
    version: int = Field(ge=0, description="Grows with every write of the review")


class ReviewPublished(_ReviewState):
    """The review is published with this rating: it counts towards the product's rating."""

    event_type: ClassVar[str] = "productstore.reviews.ReviewPublished.v1"

    user_id: UUID
    rating: int = Field(ge=1, le=5)
    verified_purchase: bool


class ReviewRemoved(_ReviewState):
    """The review is not published any more: it no longer counts."""

    event_type: ClassVar[str] = "productstore.reviews.ReviewRemoved.v1"

    reason: RemovalReason


class ReviewModerated(_ReviewState):
    """A moderation outcome for the review's author: a moderator approved or rejected it,
    or the automatic moderation rejected it on write or edit (a review published on
    write has no outcome to tell: its author sees it published)."""

    event_type: ClassVar[str] = "productstore.reviews.ReviewModerated.v1"

    user_id: UUID = Field(description="The review's author")
    outcome: ModerationOutcome
    decided_by: DecidedBy
    reasons: list[str] = Field(
        default_factory=list,
        description="The moderation's reasons for a rejection (e.g. profanity, spam)",
    )


REVIEW_EVENTS: tuple[type[EventPayload], ...] = (ReviewPublished, ReviewRemoved, ReviewModerated)
