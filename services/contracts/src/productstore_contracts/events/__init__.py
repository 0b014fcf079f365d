"""Domain event payloads, one module per producing domain (`catalog`, ...).

Producers and consumers import the same classes, so a field a consumer reads is
a field the producer writes. The transport (CloudEvents envelope, outbox,
relay, consumers) lives in productstore_common.events and knows none of them.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = ["EventPayload"]


class EventPayload(BaseModel):
    """Base of every event's ``data``; subclasses set ``event_type``
    (``productstore.<domain>.<EventName>.v<major>``).

    Unknown fields are ignored so a producer may add optional fields without a
    new version; removing or changing a field needs a new ``.vN`` type.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
