"""CloudEvents 1.0 envelope, typed payloads, and how an event maps onto a Kafka record.

An event is a ``CloudEvent`` (structured JSON mode) whose ``data`` is a
pydantic ``EventPayload``. Each payload class names its CloudEvents ``type``
(``productstore.catalog.PriceChanged.v1``: domain, event, major version); a
consumer's ``EventRegistry`` maps types back to classes, so handlers get typed
payloads and anything it cannot read is an ``EventDecodeError`` with a stable
``reason``, which the consumer dead-letters instead of crashing.

Kafka mapping: key = ``subject`` (the aggregate id, so one aggregate's events
share a partition and stay ordered), value = the JSON envelope, headers
``content-type`` (the structured-mode media type), ``ce_id``, ``ce_type`` (so
tools can route without parsing) and the W3C ``traceparent``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SerializeAsAny,
    ValidationError,
)

from productstore_common.telemetry.tracing import kafka_trace_headers
from productstore_contracts.events import EventPayload

SPEC_VERSION: Literal["1.0"] = "1.0"
DATA_CONTENT_TYPE: Literal["application/json"] = "application/json"
# Kafka protocol binding, structured mode: the whole event is the record value.
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"

HEADER_CONTENT_TYPE = "content-type"
HEADER_ID = "ce_id"
HEADER_TYPE = "ce_type"

# <lower-case dotted namespace>.<EventName>.v<major>
EVENT_TYPE_PATTERN = re.compile(
    r"^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)+\.[A-Z][A-Za-z0-9]*\.v[1-9]\d*$"
)

# Outbox rows travel in a logged batch (Cassandra fails batches over 50 KiB by
# default) and Kafka refuses records over 1 MiB: events are facts, not documents.
MAX_ENVELOPE_BYTES = 32 * 1024


def check_event_type(event_type: str) -> str:
    if not EVENT_TYPE_PATTERN.match(event_type):
        raise ValueError(
            f"event type {event_type!r} must look like "
            "'productstore.<domain>.<EventName>.v<major>', "
            "e.g. 'productstore.catalog.PriceChanged.v1'"
        )
    return event_type


PayloadT = TypeVar("PayloadT", bound=EventPayload)


def _now() -> datetime:
    return datetime.now(UTC)


class CloudEvent(BaseModel, Generic[PayloadT]):
    """A CloudEvents 1.0 event in structured JSON form.

    Extension attributes of other producers are accepted and ignored.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = SPEC_VERSION
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    source: str = Field(min_length=1, max_length=256, description="URI-reference of the producer")
    type: str = Field(pattern=EVENT_TYPE_PATTERN.pattern)
    subject: str = Field(min_length=1, max_length=256, description="The aggregate id")
    time: AwareDatetime = Field(default_factory=_now)
    datacontenttype: Literal["application/json"] = DATA_CONTENT_TYPE
    # Serialized as the payload's own class, not as the bare EventPayload base.
    data: SerializeAsAny[PayloadT]

    def to_json(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


def new_event(
    payload: PayloadT,
    *,
    source: str,
    subject: str,
    id: uuid.UUID | None = None,  # shadows the builtin: it is the CloudEvents attribute
    time: datetime | None = None,
) -> CloudEvent[PayloadT]:
    """The event carrying ``payload``; its type comes from the payload class."""
    event_type = check_event_type(type(payload).event_type)
    return CloudEvent(
        id=id or uuid.uuid4(),
        source=source,
        type=event_type,
        subject=subject,
        time=time or _now(),
        data=payload,
    )


DecodeReason = Literal["malformed", "invalid_envelope", "unknown_type", "invalid_payload"]


class EventDecodeError(ValueError):
    """A record that is not an event this consumer can read; dead-letter it, never retry.

    ``reason`` is stable (for headers and metrics); the message says what is wrong.
    """

    def __init__(
        self,
        reason: DecodeReason,
        message: str,
        *,
        event_id: str | None = None,
        event_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason: DecodeReason = reason
        self.event_id = event_id
        self.event_type = event_type


class _RawEnvelope(BaseModel):
    """The envelope with ``data`` still untyped: the type decides the payload class."""

    model_config = ConfigDict(extra="ignore")

    specversion: Literal["1.0"]
    id: uuid.UUID
    source: str = Field(min_length=1)
    type: str
    subject: str = Field(min_length=1)
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = DATA_CONTENT_TYPE
    data: JsonValue


def _first_errors(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(part) for part in error["loc"]) or "(root)"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


class EventRegistry:
    """Event type -> payload class: what a consumer knows how to read."""

    def __init__(self, payloads: Iterable[type[EventPayload]] = ()) -> None:
        self._models: dict[str, type[EventPayload]] = {}
        for model in payloads:
            self.register(model)

    def register(self, model: type[EventPayload]) -> type[EventPayload]:
        """Add ``model`` under its ``event_type``; usable as a class decorator."""
        event_type = getattr(model, "event_type", None)
        if not isinstance(event_type, str):
            raise TypeError(f"{model.__name__} has no event_type ClassVar")
        check_event_type(event_type)
        known = self._models.get(event_type)
        if known is not None and known is not model:
            raise ValueError(f"event type {event_type!r} is already registered to {known.__name__}")
        self._models[event_type] = model
        return model

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._models)

    def model_for(self, event_type: str) -> type[EventPayload] | None:
        return self._models.get(event_type)

    def decode(self, value: bytes | None) -> CloudEvent[EventPayload]:
        """The typed event in a record value; EventDecodeError says why not."""
        if not value:
            raise EventDecodeError("malformed", "the record has no value")
        try:
            raw = _RawEnvelope.model_validate_json(value)
        except ValidationError as exc:
            if any(error["type"] == "json_invalid" for error in exc.errors()):
                raise EventDecodeError("malformed", "the record value is not JSON") from None
            raise EventDecodeError(
                "invalid_envelope", f"not a CloudEvents 1.0 JSON event: {_first_errors(exc)}"
            ) from None
        ids = {"event_id": str(raw.id), "event_type": raw.type}
        model = self._models.get(raw.type)
        if model is None:
            known = ", ".join(sorted(self._models)) or "none"
            raise EventDecodeError(
                "unknown_type", f"unknown event type {raw.type!r} (known: {known})", **ids
            )
        try:
            payload = model.model_validate(raw.data)
        except ValidationError as exc:
            raise EventDecodeError(
                "invalid_payload",
                f"invalid {raw.type} payload: {_first_errors(exc)}",
                **ids,
            ) from None
        return CloudEvent[EventPayload](
            specversion=raw.specversion,
            id=raw.id,
            source=raw.source,
            type=raw.type,
            subject=raw.subject,
            time=raw.time,
            datacontenttype=raw.datacontenttype,
            data=payload,
        )


@dataclass(frozen=True)
class KafkaRecord:
    """What a producer sends: ``producer.send(topic, value, key, headers=headers)``."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def event_headers(
    event_id: str, event_type: str, trace_headers: Iterable[tuple[str, bytes]] = ()
) -> list[tuple[str, bytes]]:
    """The Kafka headers of an event record (trace headers appended)."""
    return [
        (HEADER_CONTENT_TYPE, STRUCTURED_CONTENT_TYPE.encode()),
        (HEADER_ID, event_id.encode()),
        (HEADER_TYPE, event_type.encode()),
        *trace_headers,
    ]


def to_kafka_record(event: CloudEvent[Any]) -> KafkaRecord:
    """The record of ``event``, carrying the current trace context.

    For direct publishing (tests, tools); services publish through the outbox.
    """
    return KafkaRecord(
        key=event.subject.encode(),
        value=event.to_json(),
        headers=event_headers(str(event.id), event.type, kafka_trace_headers()),
    )


def header_value(headers: Iterable[tuple[str, bytes | None]] | None, name: str) -> str | None:
    """The last value of header ``name`` (Kafka allows repeats), decoded, or None."""
    found = None
    for key, value in headers or ():
        if key == name and value is not None:
            found = value.decode("utf-8", errors="replace")
    return found
