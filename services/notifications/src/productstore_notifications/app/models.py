"""The API's request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Topic = Literal["order_placed", "order_paid", "order_cancelled", "order_expired"]
"""What a message is about; each order event has one."""
Channel = Literal["email", "inapp"]
"""How it reaches the user."""
Locale = Literal["en", "ru"]
DeliveryOutcome = Literal["sent", "failed", "skipped", "dead_lettered"]

TOPICS: tuple[Topic, ...] = ("order_placed", "order_paid", "order_cancelled", "order_expired")
CHANNELS: tuple[Channel, ...] = ("email", "inapp")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OptOut(_Strict):
    """No messages of this topic on this channel."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: Topic
    channel: Channel


class PreferencesBase(_Strict):
    locale: Locale = Field(default="en", description="The language of the user's messages")
    phone: str | None = Field(
        default=None,
        pattern=r"^\+[1-9][0-9]{6,14}$",
        description="E.164 phone number for SMS (`+` and 7-15 digits)",
    )
    opt_outs: list[OptOut] = Field(
        default_factory=list,
        max_length=len(TOPICS) * len(CHANNELS),
        description="Topics muted per channel",
    )


class PreferencesUpdate(PreferencesBase):
    """The whole preferences document (PUT replaces it)."""


class PreferencesPublic(PreferencesBase):
    updated_at: datetime | None = Field(description="None: never set (the defaults apply)")


class NotificationPublic(BaseModel):
    id: uuid.UUID
    topic: Topic
    title: str
    body: str
    read: bool
    created_at: datetime


class InboxPage(BaseModel):
    items: list[NotificationPublic] = Field(description="Newest first")
    unread: int = Field(description="Unread notifications among the ones listed")


class DeliveryPublic(BaseModel):
    at: datetime
    event_id: uuid.UUID
    recipient: str = Field(description="The user id the message was for")
    channel: Channel
    topic: str
    attempt: int = Field(description="1 for the first try; each provider tried counts")
    provider: str = Field(description="`smtp:host:port`, `inapp`, or `-` when none was tried")
    outcome: DeliveryOutcome
    latency_ms: float
    error: str | None


class Replay(_Strict):
    """Which dead-lettered message to send again (the delivery log names both)."""

    event_id: uuid.UUID
    recipient: str = Field(min_length=1, max_length=64, description="The user id")
    channel: Literal["email"] = "email"


class ReplayOutcome(BaseModel):
    outcome: Literal["sent", "dead_lettered", "no_address"] = Field(
        description="`dead_lettered`: it failed again (a new dead letter)"
    )


class DeliveriesPage(BaseModel):
    items: list[DeliveryPublic] = Field(description="Newest first, from the last 7 days")
