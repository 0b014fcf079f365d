"""Outbox writes: the event row and the business rows in one logged batch (real Cassandra)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import ClassVar

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from productstore_common.cassandra import CassandraSession
from productstore_common.cassandra.scripts import split_statements
from productstore_common.events import (
    MAX_ENVELOPE_BYTES,
    EventPayload,
    EventTooLargeError,
    Outbox,
    OutboxLayout,
    event_tables_cql,
    new_event,
)
from tests.common.events.support import REGISTRY, SOURCE, price_changed

pytestmark = pytest.mark.anyio

UPDATE_PRICE = "UPDATE products SET price = ?, seq = ? WHERE id = ?"


class Bulky(EventPayload):
    event_type: ClassVar[str] = "productstore.catalog.Bulky.v1"

    blob: str


async def test_write_applies_business_rows_and_records_the_event(
    module_db: CassandraSession,
) -> None:
    layout = OutboxLayout(shards=4, bucket_seconds=60)
    outbox = await Outbox.create(module_db, topic="productstore.catalog", layout=layout)
    product = uuid.uuid4()
    event = new_event(price_changed(product, 7), source=SOURCE, subject=str(product))
    update = module_db.prepare(UPDATE_PRICE).bind((Decimal("16.99"), 7, product))
    woken: list[bool] = []
    outbox.add_listener(lambda: woken.append(True))

    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("PUT /api/products/{id}") as span:
        await outbox.write([update], [event])

    stored = (
        await module_db.execute_async("SELECT price, seq FROM products WHERE id = ?", (product,))
    ).one()
    assert (stored.price, stored.seq) == (Decimal("16.99"), 7)
    rows = await module_db.execute_all(
        "SELECT * FROM event_outbox WHERE event_id = ? ALLOW FILTERING", (event.id,)
    )
    assert len(rows) == 1
    row = rows[0]
    assert row.shard == layout.shard_of(str(product))
    assert (row.topic, row.event_key, row.event_type) == (
        "productstore.catalog",
        str(product),
        "productstore.catalog.PriceChanged.v1",
    )
    assert REGISTRY.decode(row.envelope.encode()) == event
    trace_id = trace.format_trace_id(span.get_span_context().trace_id)
    assert row.trace_context["traceparent"].split("-")[1] == trace_id
    assert woken == [True]


async def test_statements_go_into_the_callers_own_logged_batch(module_db: CassandraSession) -> None:
    outbox = await Outbox.create(module_db, topic="productstore.catalog")
    product = uuid.uuid4()
    events = [
        new_event(price_changed(product, n), source=SOURCE, subject=str(product)) for n in range(3)
    ]
    batch = outbox.batch([module_db.prepare(UPDATE_PRICE).bind((Decimal(1), 2, product))], events)
    await module_db.execute_async(batch)
    rows = await module_db.execute_all(
        "SELECT outbox_time, event_id FROM event_outbox WHERE event_key = ? ALLOW FILTERING",
        (str(product),),
    )
    # Written in one call, ordered by outbox time as they were created.
    assert [row.event_id for row in sorted(rows, key=lambda r: r.outbox_time.time)] == [
        event.id for event in events
    ]
    assert len({row.outbox_time for row in rows}) == 3


async def test_an_event_too_large_is_refused_and_nothing_is_written(
    module_db: CassandraSession,
) -> None:
    outbox = await Outbox.create(module_db, topic="productstore.catalog")
    product = uuid.uuid4()
    event = new_event(Bulky(blob="x" * MAX_ENVELOPE_BYTES), source=SOURCE, subject=str(product))
    update = module_db.prepare(UPDATE_PRICE).bind((Decimal(1), 1, product))
    with pytest.raises(EventTooLargeError, match=r"over the 32768 byte limit; carry ids"):
        await outbox.write([update], [event])
    assert (
        await module_db.execute_async("SELECT id FROM products WHERE id = ?", (product,))
    ).one() is None
    with pytest.raises(ValueError, match="nothing to write"):
        await outbox.write([], [])


def test_the_event_tables_file_holds_exactly_the_four_tables() -> None:
    # Comments in the file contain ";": they must not split statements.
    statements = split_statements(event_tables_cql())
    assert [statement.text.split()[:6] for statement in statements] == [
        ["CREATE", "TABLE", "IF", "NOT", "EXISTS", table]
        for table in (
            "event_outbox",
            "event_outbox_cursor",
            "event_outbox_lease",
            "processed_events",
        )
    ]
