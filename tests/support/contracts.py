"""The producer's half of the event contracts (ADR 0015).

- ``check_published(raw)``: every event a producer's test reads off Kafka must
  validate against the schema published for its type
  (productstore_contracts.events.schemas).
- ``check_recorded(raw_records, types)``: the earliest event of each of ``types``
  must equal its recorded example (``examples/<type>.json``, the event's ``data``
  with UUIDs renumbered and times fixed, so a diff shows a change of shape, not of
  data). A producer whose events change fails its own tests until the examples are
  recorded again; then the consumers' tests (tests/contracts) say whether they can
  still read them.

With ``PRODUCTSTORE_RECORD_EVENTS=1`` both record: ``check_published`` writes an
example for a type that has none, ``check_recorded`` rewrites its types' examples.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import jsonschema

from productstore_contracts.events.schemas import EXAMPLES, published_schema

RECORD_ENV = "PRODUCTSTORE_RECORD_EVENTS"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_FIXED_TIME = "2026-12-06T00:00:00Z"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FIXED_DATE = "2026-12-06"


def _recording() -> bool:
    return os.environ.get(RECORD_ENV) == "1"


def normalised(data: Any) -> Any:
    """``data`` with every UUID renumbered by first appearance and every time and date
    fixed."""
    names: dict[str, str] = {}

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, str) and _UUID.match(value):
            return names.setdefault(value, f"00000000-0000-4000-8000-{len(names) + 1:012d}")
        if isinstance(value, str) and _TIME.match(value):
            return _FIXED_TIME
        if isinstance(value, str) and _DATE.match(value):
            return _FIXED_DATE
        return value

    return walk(data)


def _example_text(data: Any) -> str:
    return json.dumps(normalised(data), indent=2, sort_keys=True) + "\n"


def check_published(raw: bytes) -> dict[str, Any]:
    """The envelope of ``raw`` once its ``data`` is proven to match the published schema."""
    envelope: dict[str, Any] = json.loads(raw)
    event_type = envelope["type"]
    schema = published_schema(event_type)
    assert schema is not None, f"{event_type} has no published schema: run `make generate`"
    jsonschema.validate(envelope["data"], schema, cls=jsonschema.Draft202012Validator)
    path = EXAMPLES / f"{event_type}.json"
    if _recording() and not path.exists():
        EXAMPLES.mkdir(parents=True, exist_ok=True)
        path.write_text(_example_text(envelope["data"]), encoding="utf-8")
    return envelope


def check_recorded(raw_records: Iterable[bytes], types: Iterable[str]) -> None:
    """Compare the earliest record of each of ``types`` with its example (or record it)."""
    wanted = set(types)
    # Of several events of a kind, the earliest made: the same choice on every run,
    # whatever order the topic's partitions were read in.
    earliest: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for raw in raw_records:
        envelope = check_published(raw)
        kind = envelope["type"]
        if kind in wanted:
            made = datetime.fromisoformat(envelope["time"])
            if kind not in earliest or made < earliest[kind][0]:
                earliest[kind] = (made, envelope)
    missing = sorted(wanted - set(earliest))
    assert not missing, f"the tests sent no {', '.join(missing)}"
    for event_type, (_, envelope) in sorted(earliest.items()):
        text = _example_text(envelope["data"])
        path = EXAMPLES / f"{event_type}.json"
        if _recording():
            path.write_text(text, encoding="utf-8")
            continue
        assert path.is_file(), f"no recorded {path.name}: run with {RECORD_ENV}=1"
        assert path.read_text(encoding="utf-8") == text, (
            f"{event_type} is no longer what {path} recorded: if the change is meant, "
            f"record it again ({RECORD_ENV}=1) and let the consumers' tests judge it"
        )
