"""CloudEvents envelope, payload registry and Kafka mapping (no servers needed)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from productstore_common.events import (
    EventDecodeError,
    EventPayload,
    EventRegistry,
    header_value,
    new_event,
    to_kafka_record,
)
from productstore_common.events.backoff import Backoff
from productstore_common.events.outbox import OutboxLayout, TimeUuids, unix_seconds
from tests.common.events.support import REGISTRY, SOURCE, PriceChanged, price_changed

PRODUCT = uuid.UUID("0b7e7f52-3c3b-4a52-9f0e-5a0e8f0e1c11")


def envelope(**overrides: object) -> bytes:
    body: dict[str, object] = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": PriceChanged.event_type,
        "subject": str(PRODUCT),
        "time": "2025-01-02T03:04:05.123456+00:00",
        "datacontenttype": "application/json",
        "data": {"product_id": str(PRODUCT), "sequence": 1, "price": "12.50", "currency": "EUR"},
    }
    body.update(overrides)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


def test_round_trip_keeps_every_attribute_and_the_typed_payload() -> None:
    event = new_event(price_changed(PRODUCT, 3), source=SOURCE, subject=str(PRODUCT))
    decoded = REGISTRY.decode(event.to_json())
    assert decoded == event
    assert isinstance(decoded.data, PriceChanged)
    assert decoded.data.price == Decimal("12.99")
    assert decoded.type == "productstore.catalog.PriceChanged.v1"


def test_json_is_a_cloudevents_structured_event() -> None:
    when = datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC)
    event = new_event(price_changed(PRODUCT, 1), source=SOURCE, subject="p-1", time=when)
    body = json.loads(event.to_json())
    assert body == {
        "specversion": "1.0",
        "id": str(event.id),
        "source": SOURCE,
        "type": "productstore.catalog.PriceChanged.v1",
        "subject": "p-1",
        "time": "2025-05-06T07:08:09Z",
        "datacontenttype": "application/json",
        "data": {
            "product_id": str(PRODUCT),
            "sequence": 1,
            "price": "10.99",
            "currency": "EUR",
        },
    }
    assert uuid.UUID(body["id"]).version == 4


def test_unknown_fields_and_extension_attributes_are_ignored() -> None:
    data = {"product_id": str(PRODUCT), "sequence": 2, "price": "1", "currency": "EUR", "new": 1}
    decoded = REGISTRY.decode(envelope(data=data, traceparent="00-abc", partitionkey="x"))
    assert isinstance(decoded.data, PriceChanged)
    assert decoded.data.sequence == 2


@pytest.mark.parametrize(
    ("value", "reason", "message"),
    [
        (b"", "malformed", "no value"),
        (b"\x00\xffnot json", "malformed", "not JSON"),
        (b'{"hello": "world"}', "invalid_envelope", "specversion"),
        (envelope(specversion="0.3"), "invalid_envelope", "specversion"),
        (envelope(time="2025-01-02T03:04:05"), "invalid_envelope", "time"),
        (envelope(id="not-a-uuid"), "invalid_envelope", "id"),
        (envelope(type="productstore.catalog.Unheard.v1"), "unknown_type", "Unheard"),
        (envelope(data={"product_id": str(PRODUCT)}), "invalid_payload", "sequence"),
        (
            envelope(data={"product_id": "x", "sequence": 1, "price": "cheap", "currency": "EUR"}),
            "invalid_payload",
            "price",
        ),
    ],
)
def test_unreadable_records_raise_decode_errors_with_a_reason(
    value: bytes, reason: str, message: str
) -> None:
    with pytest.raises(EventDecodeError) as caught:
        REGISTRY.decode(value)
    assert caught.value.reason == reason
    assert message in str(caught.value)


def test_decode_errors_of_events_name_the_event() -> None:
    event_id = str(uuid.uuid4())
    with pytest.raises(EventDecodeError) as caught:
        REGISTRY.decode(envelope(id=event_id, type="productstore.orders.Unheard.v2"))
    assert (caught.value.event_id, caught.value.event_type) == (
        event_id,
        "productstore.orders.Unheard.v2",
    )
    assert "known: productstore.catalog.PriceChanged.v1" in str(caught.value)


def test_registry_refuses_two_classes_for_one_type_and_bad_type_names() -> None:
    class Impostor(EventPayload):
        event_type: ClassVar[str] = PriceChanged.event_type

    class BadName(EventPayload):
        event_type: ClassVar[str] = "PriceChanged"

    registry = EventRegistry([PriceChanged])
    registry.register(PriceChanged)  # the same class again is fine
    with pytest.raises(ValueError, match="already registered to PriceChanged"):
        registry.register(Impostor)
    with pytest.raises(ValueError, match="must look like"):
        registry.register(BadName)
    with pytest.raises(ValueError, match="must look like"):
        new_event(BadName(), source=SOURCE, subject="x")
    with pytest.raises(TypeError, match="no event_type"):
        registry.register(EventPayload)
    assert registry.types == {PriceChanged.event_type}


def test_kafka_record_is_keyed_by_aggregate_and_carries_ids_and_trace() -> None:
    event = new_event(price_changed(PRODUCT, 1), source=SOURCE, subject=str(PRODUCT))
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("write") as span:
        record = to_kafka_record(event)
    assert record.key == str(PRODUCT).encode()
    assert REGISTRY.decode(record.value) == event
    assert header_value(record.headers, "ce_id") == str(event.id)
    assert header_value(record.headers, "ce_type") == event.type
    assert header_value(record.headers, "content-type") == (
        "application/cloudevents+json; charset=UTF-8"
    )
    traceparent = header_value(record.headers, "traceparent")
    assert traceparent is not None
    assert traceparent.split("-")[1] == trace.format_trace_id(span.get_span_context().trace_id)


def test_time_uuids_increase_strictly_and_carry_the_time() -> None:
    generator = TimeUuids()
    before = datetime.now(UTC).timestamp()
    values = [generator.next() for _ in range(5000)]
    after = datetime.now(UTC).timestamp()
    assert [value.time for value in values] == sorted({value.time for value in values})
    assert all(value.version == 1 for value in values)
    assert before - 0.001 <= unix_seconds(values[0]) <= unix_seconds(values[-1]) <= after + 0.01


def test_layout_shards_are_stable_and_buckets_slice_time() -> None:
    layout = OutboxLayout(shards=8, bucket_seconds=60)
    # crc32("product-1") % 8, the same in every process (hash() would not be).
    assert layout.shard_of("product-1") == 5
    assert layout.bucket_of(119.9) == 1
    assert layout.bucket_end(1) == 120.0
    with pytest.raises(ValueError, match=r"shards must be 1\.\.1024"):
        OutboxLayout(shards=0)
    with pytest.raises(ValueError, match="bucket_seconds"):
        OutboxLayout(bucket_seconds=0)


def test_backoff_grows_with_jitter_up_to_its_bound() -> None:
    backoff = Backoff(initial=0.1, maximum=1.0)
    delays = [backoff.next_delay() for _ in range(12)]
    ceilings = [min(1.0, 0.1 * 2**n) for n in range(12)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays) <= 1.0
    backoff.reset()
    assert backoff.next_delay() <= 0.1
    with pytest.raises(ValueError, match="initial <= maximum"):
        Backoff(initial=2.0, maximum=1.0)
