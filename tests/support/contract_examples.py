"""Recorded event examples: a producer's tests record the envelopes it really sent
(`tests/contracts/examples/<domain>/<EventName>.json`), its consumers' tests decode
those files. A producer whose events change fails its own tests until the examples
are recorded again (`PRODUCTSTORE_RECORD_EXAMPLES=1`), and then the consumers' tests
say whether they can still read them.

Ids and times are replaced by fixed values (in order of appearance), so a recording
is the same on every run and a diff shows a change of shape, not of data."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[1] / "contracts" / "examples"
RECORD_VARIABLE = "PRODUCTSTORE_RECORD_EXAMPLES"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_FIXED_TIME = "2026-12-06T00:00:00Z"


def normalised(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope with every UUID renumbered by first appearance and its time fixed."""
    names: dict[str, str] = {}

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, str) and _UUID.match(value):
            return names.setdefault(value, f"00000000-0000-4000-8000-{len(names) + 1:012d}")
        return value

    fixed: dict[str, Any] = walk(envelope)
    fixed["time"] = _FIXED_TIME
    return fixed


def example_name(event_type: str) -> str:
    """`productstore.orders.OrderPaid.v1` -> `OrderPaid.v1`."""
    return event_type.split(".", 2)[2]


def check_recorded(domain: str, raw_records: Iterable[bytes], types: Iterable[str]) -> None:
    """Compare one record of each of `types` with its recording (or record it)."""
    wanted = set(types)
    # Of several events of a kind, the earliest made: the same choice on every run,
    # whatever order the topic's partitions were read in and however far (the caller
    # has waited for the first of each kind it asks for).
    earliest: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for raw in raw_records:
        envelope = json.loads(raw)
        kind = envelope["type"]
        if kind in wanted:
            made = datetime.fromisoformat(envelope["time"])
            if kind not in earliest or made < earliest[kind][0]:
                earliest[kind] = (made, envelope)
    missing = sorted(wanted - set(earliest))
    assert not missing, f"the tests sent no {', '.join(missing)}"
    folder = EXAMPLES / domain
    record = os.environ.get(RECORD_VARIABLE) == "1"
    for event_type, (_, envelope) in sorted(earliest.items()):
        text = json.dumps(normalised(envelope), indent=2, sort_keys=True) + "\n"
        path = folder / f"{example_name(event_type)}.json"
        if record:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            continue
        assert path.is_file(), f"no recorded {path.name}: run with {RECORD_VARIABLE}=1"
        assert path.read_text(encoding="utf-8") == text, (
            f"{event_type} is no longer what {path} recorded: if the change is meant, "
            f"record it again ({RECORD_VARIABLE}=1) and let the consumers' tests judge it"
        )


def recorded(domain: str) -> list[tuple[str, bytes]]:
    """Every recorded example of `domain`: (file name, envelope bytes)."""
    return [(path.name, path.read_bytes()) for path in sorted((EXAMPLES / domain).glob("*.json"))]
