"""The API's request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

Topic = Literal[
    "order_placed",
    "order_paid",
    "order_cancelled",
    "order_expired",
    "order_fulfilled",
    "order_delivered",
    "price_drop",
    "back_in_stock",
    "promotion",
    "review_approved",
    "review_rejected",
]
"""What a message is about: an order event, a wishlist notice, an admin's broadcast, or
a moderation outcome of the user's review."""
Channel = Literal["email", "inapp", "sms", "push"]
"""How it reaches the user."""
AdminTopic = Literal["low_stock", "stock_recovered"]
"""What a message to the store's admins is about: a product's stock crossed its threshold."""
DeliveryChannel = Literal[Channel, "chat"]
"""Every channel of the delivery log: the users' and the admins' chats (Slack, Telegram)."""
Locale = Literal["en", "ru"]
DeliveryOutcome = Literal["sent", "failed", "skipped", "dead_lettered"]

# In the Literal's order: the one list of topics.
TOPICS: tuple[Topic, ...] = get_args(Topic)
# Not about something the user did: each e-mail of these topics carries a signed
# one-click unsubscribe link (RFC 8058) that opts the user out of the topic's e-mail.
PROMOTIONAL: frozenset[Topic] = frozenset({"price_drop", "back_in_stock", "promotion"})
CHANNELS: tuple[Channel, ...] = get_args(Channel)
# SMS carries delivery updates only (the "SMS on delivery updates").
SMS_TOPICS: tuple[Topic, ...] = ("order_fulfilled", "order_delivered")


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
    # Strict, as promotions: a JSON "yes" or 1 is not consent to SMS.
    sms_opt_in: StrictBool = Field(
        default=False,
        description="SMS delivery updates (order fulfilled and delivered) to `phone`: "
        "off unless the user turns it on; needs a phone",
    )
    # Strict: a JSON 0 or "yes" is not consent.
    promotions: StrictBool = Field(
        default=False,
        description="Consent to admins' promotional broadcasts (off until the user turns "
        "it on); a `promotion` opt-out still mutes a channel",
    )


class PreferencesUpdate(PreferencesBase):
    """The whole preferences document (PUT replaces it)."""

    @model_validator(mode="after")
    def _sms_needs_a_phone(self) -> Self:
        if self.sms_opt_in and self.phone is None:
            raise ValueError("sms_opt_in needs a phone (E.164, e.g. +447700900123) to send to")
        return self


class PreferencesPublic(PreferencesBase):
    updated_at: datetime | None = Field(description="None: never set (the defaults apply)")
    phone_verified: bool = Field(
        default=False,
        description="Whether the user proved `phone` with a code sent to it: SMS goes only "
        "to a verified phone (a new phone is unverified until its code comes back)",
    )


class PhoneCodeSent(BaseModel):
    phone: str = Field(description="Where the code went: the preferences' phone")
    expires_at: datetime = Field(description="After this the code is refused; ask again")


class PhoneCodeCheck(_Strict):
    code: str = Field(
        pattern=r"^[0-9]{6}$", description="The six digits the SMS carried", examples=["042137"]
    )


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
    recipient: str = Field(
        description="The user id the message was for (`admins`: the admins' chats)"
    )
    channel: DeliveryChannel
    topic: str
    attempt: int = Field(description="1 for the first try; each provider tried counts")
    provider: str = Field(
        description="`smtp:host:port`, `sms:<base URL>`, `push:<push service origin>`, "
        "`slack`, `telegram`, `inapp`, or `-` when none was tried"
    )
    outcome: DeliveryOutcome
    latency_ms: float
    error: str | None


class Replay(_Strict):
    """Which dead-lettered message to send again (the delivery log names both)."""

    event_id: uuid.UUID
    recipient: str = Field(
        min_length=1, max_length=64, description="The user id (`admins` for `chat`)"
    )
    channel: Literal["email", "sms", "push", "chat"] = Field(
        default="email",
        description="`email`, `sms`, `push` (to the phone or subscriptions the user has "
        "now), or `chat` (a stock alert to the admins' chats)",
    )


class ReplayOutcome(BaseModel):
    outcome: Literal["sent", "dead_lettered", "no_address", "gone"] = Field(
        description="`dead_lettered`: it failed again (a new dead letter); `no_address`: "
        "no such user, or (SMS) no phone or consent any more; `gone`: (push) no "
        "subscription left. Only `dead_lettered` keeps the dead letter."
    )


class DeviceKeys(_Strict):
    p256dh: str = Field(
        min_length=1,
        max_length=100,
        description="The subscription's P-256 public key: 65 octets (uncompressed point), "
        "base64url",
    )
    auth: str = Field(
        min_length=1,
        max_length=100,
        description="The subscription's auth secret: 16 octets, base64url",
    )


class DeviceCreate(_Strict):
    """A Web Push subscription as the browser's `PushSubscription.toJSON()` gives it."""

    endpoint: str = Field(
        min_length=10,
        max_length=1000,
        description="The push service's URL for this browser (https; an allowed push service)",
    )
    expirationTime: int | None = Field(  # noqa: N815 - the browser's name
        default=None, description="Ignored (browsers send null)"
    )
    keys: DeviceKeys


class DeviceDelete(_Strict):
    endpoint: str = Field(min_length=10, max_length=1000, description="The subscription to drop")


class DevicePublic(BaseModel):
    endpoint: str = Field(
        description="A subscription of the user's (the key material is not shown)"
    )


class DevicesPage(BaseModel):
    items: list[DevicePublic]
    vapid_public_key: str | None = Field(
        description="The application server key for `PushManager.subscribe` "
        "(`applicationServerKey`); null when push is not configured"
    )


class DeliveriesPage(BaseModel):
    items: list[DeliveryPublic] = Field(description="Newest first, from the last 7 days")


class Segment(_Strict):
    """Who a broadcast is for: every user who consented to promotions, optionally only
    those who read a given language. Bounded by design: the service knows users by their
    preferences, and promotions go only to users who said yes."""

    audience: Literal["promotions_opted_in"] = Field(
        default="promotions_opted_in",
        description="The users who turned `promotions` on in their preferences",
    )
    locale: Locale | None = Field(default=None, description="Only users of this language")


class LocalizedText(_Strict):
    """The same text in each language; a user gets their locale's, else English."""

    en: str = Field(min_length=1, max_length=2000)
    ru: str | None = Field(default=None, min_length=1, max_length=2000)


class BroadcastCreate(_Strict):
    """A promotion to a segment (admins)."""

    segment: Segment = Field(default_factory=Segment)
    subject: LocalizedText = Field(description="The e-mail's subject and the inbox title")
    body: LocalizedText = Field(description="Plain text; paragraphs separated by blank lines")


BroadcastStatus = Literal["running", "done"]


class BroadcastPublic(BaseModel):
    id: uuid.UUID = Field(description="Also the event id of every message it sends")
    segment: Segment
    status: BroadcastStatus = Field(description="`done`: every user of the segment was tried")
    recipients: int = Field(description="Users of the segment reached so far")
    created_at: datetime
    finished_at: datetime | None


class Unsubscribed(BaseModel):
    topic: Topic
    channel: Channel
    detail: str = Field(description="What changed, for a person to read")
