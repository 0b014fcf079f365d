"""Published event schemas: every type is published, today's models keep to what was
published, the compatibility check itself finds what breaks a consumer or a producer,
and every recorded example is one the published schema and today's model accept."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, ClassVar, Literal
from uuid import UUID

import jsonschema
import pytest

from productstore_contracts.events import EventPayload
from productstore_contracts.events.orders import OrderCancelled, OrderPlaced
from productstore_contracts.events.schemas import (
    PUBLISHED,
    TOPIC_EVENTS,
    breaking_changes,
    check,
    data_schema,
    event_types,
    example,
    main,
    published_schema,
)
from productstore_contracts.services import DESCRIPTORS

TYPES = sorted(event_types())


def test_every_topic_a_service_names_has_its_event_types() -> None:
    named = {t for d in DESCRIPTORS for t in (*d.produces, *d.consumes)}
    assert named <= set(TOPIC_EVENTS), f"topics without schemas: {named - set(TOPIC_EVENTS)}"


def test_every_event_type_is_published_and_kept_to() -> None:
    unpublished, problems = check(event_types().values())
    assert [k.event_type for k in unpublished] == [], "run `make generate` to publish them"
    assert problems == []
    # Nothing published that no model describes (a type is retired by a decision, not a typo).
    assert sorted(p.stem for p in PUBLISHED.glob("*.json")) == TYPES


@pytest.mark.parametrize("event_type", TYPES)
def test_the_recorded_example_is_accepted_by_the_schema_and_the_model(event_type: str) -> None:
    data = example(event_type)
    assert data is not None, (
        f"no recorded example of {event_type}: run its producer's tests with "
        "PRODUCTSTORE_RECORD_EVENTS=1"
    )
    schema = published_schema(event_type)
    assert schema is not None
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    event_types()[event_type].model_validate(data)


def _placed() -> dict[str, Any]:
    return copy.deepcopy(data_schema(OrderPlaced))


def _edit(schema: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    node = schema
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return schema


def test_prose_may_change() -> None:
    changed = _edit(_placed(), ["properties", "order_id", "description"], "Which order")
    changed = _edit(changed, ["$defs", "OrderLine", "title"], "Line")
    assert breaking_changes(_placed(), changed) == []


def test_an_optional_property_may_come_and_go() -> None:
    class Richer(EventPayload):
        event_type: ClassVar[str] = "productstore.orders.OrderPlaced.v1"
        order_id: str
        total: str | None = None

    class Plain(EventPayload):
        event_type: ClassVar[str] = "productstore.orders.OrderPlaced.v1"
        order_id: str

    assert breaking_changes(data_schema(Plain), data_schema(Richer)) == []
    assert breaking_changes(data_schema(Richer), data_schema(Plain)) == []


BREAKS = [
    (
        "a required property removed",
        lambda s: _edit(
            _edit(s, ["properties", "user_id"], None), ["required"], ["order_id", "lines"]
        ),
        "user_id was required and is gone",
    ),
    (
        "a required property added",
        lambda s: _edit(
            _edit(s, ["properties", "coupon"], {"type": "string"}),
            ["required"],
            ["order_id", "user_id", "lines", "coupon"],
        ),
        "coupon is new and required",
    ),
    (
        "a required property made optional",
        lambda s: _edit(s, ["required"], ["order_id", "lines"]),
        "user_id was required and is not any more",
    ),
    (
        "a type changed",
        lambda s: _edit(s, ["properties", "order_id", "format"], None),
        "order_id changed from",
    ),
    (
        "a range widened in a nested object",
        lambda s: _edit(s, ["$defs", "OrderLine", "properties", "quantity", "maximum"], 10**9),
        "lines[].quantity changed from",
    ),
    (
        "an array's bound narrowed",
        lambda s: _edit(s, ["properties", "lines", "maxItems"], 10),
        "lines changed from",
    ),
]


@pytest.mark.parametrize(("what", "change", "said"), BREAKS, ids=[b[0] for b in BREAKS])
def test_a_breaking_change_is_named(what: str, change: Any, said: str) -> None:
    found = breaking_changes(_placed(), change(_placed()))
    assert len(found) == 1, found
    assert said in found[0]


def test_a_new_enum_value_breaks_old_consumers() -> None:
    class Widened(EventPayload):
        event_type: ClassVar[str] = OrderCancelled.event_type
        order_id: UUID
        reason: Literal[
            "customer", "admin", "payment_failed", "rejected", "fraud", "other", "bored"
        ]
        paid: bool

    (found,) = breaking_changes(data_schema(OrderCancelled), data_schema(Widened))
    assert found.startswith("reason changed from"), found
    assert '"bored"' in found


def test_the_generator_publishes_new_types_and_refuses_a_breaking_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--directory", str(tmp_path), "--check"]) == 1
    assert "unpublished event type: productstore.orders.OrderPlaced.v1" in capsys.readouterr().err
    assert main(["--directory", str(tmp_path)]) == 0
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == TYPES
    assert main(["--directory", str(tmp_path), "--check"]) == 0
    # What an older model published: lines had no upper bound; today's model has one.
    path = tmp_path / f"{OrderPlaced.event_type}.json"
    older = _edit(json.loads(path.read_text()), ["properties", "lines", "maxItems"], None)
    path.write_text(json.dumps(older))
    assert main(["--directory", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "breaking change: productstore.orders.OrderPlaced.v1: lines changed from" in err
    assert "as a new .vN event type" in err
    # Nothing was rewritten to make the check pass.
    assert json.loads(path.read_text()) == older
