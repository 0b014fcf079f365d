"""Request and response bodies of the reviews API."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from productstore_common.text import MULTI_LINE, SINGLE_LINE

Rating = Annotated[int, Field(ge=1, le=5, description="Stars, 1 to 5")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120), SINGLE_LINE]
Body = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=10, max_length=5000), MULTI_LINE
]


class ReviewStatus(enum.StrEnum):
    published = "published"
    pending = "pending"
    rejected = "rejected"


class ReviewSort(enum.StrEnum):
    helpful = "helpful"
    newest = "newest"
    rating = "rating"


class ReviewCreate(BaseModel):
    """A review of one product; one per user and product."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "product_id": "5f0c4b0e-6f1a-4a51-9a47-4bd1d1b6c2a1",
                    "rating": 5,
                    "title": "Great kettle",
                    "body": "Boils fast and looks lovely on the counter.",
                }
            ]
        },
    )

    product_id: uuid.UUID
    rating: Rating
    title: Annotated[Title, Field(description="Up to 120 characters, one line")] = ""
    body: Annotated[Body, Field(description="10 to 5000 characters")]


class ReviewUpdate(BaseModel):
    """A change by the author: members left out keep their value; moderated again."""

    model_config = ConfigDict(extra="forbid")

    rating: Rating | None = None
    title: Title | None = None
    body: Body | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.rating is None and self.title is None and self.body is None:
            raise ValueError("send at least one of rating, title, body")
        return self


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
        SINGLE_LINE,
        Field(description="Why the review should not be shown"),
    ]


class Moderation(BaseModel):
    """What the offline classifier found (docs/adr/0020)."""

    language: str = Field(description="ru, en or other")
    sentiment: float = Field(description="-1 (negative) .. 1 (positive)")
    reasons: list[str] = Field(description="Why the review was queued or rejected; empty if not")


class ReviewPublic(BaseModel):
    id: uuid.UUID
    product_id: uuid.UUID
    user_id: uuid.UUID
    rating: int
    title: str
    body: str
    status: ReviewStatus = Field(description="Only published reviews are listed to everyone")
    verified_purchase: bool = Field(description="The author has a delivered order of it")
    helpful: int = Field(description="Users who found it helpful")
    created_at: datetime
    updated_at: datetime


class ReviewModerated(ReviewPublic):
    """A review with what moderation found (its author and moderators see this)."""

    moderation: Moderation
    reports: int


class ReviewPage(BaseModel):
    items: list[ReviewPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class ModerationPage(BaseModel):
    items: list[ReviewModerated]
