"""The producer's half of the event contracts: every event a producer's test reads
off Kafka must validate against the schema published for its type
(productstore_contracts.events.schemas), and with PRODUCTSTORE_RECORD_EVENTS=1
the first real event of each type without an example becomes its example, which
every consumer's tests decode (tests/contracts/test_event_consumers.py)."""

from __future__ import annotations

import json
import os
from typing import Any

import jsonschema

from productstore_contracts.events.schemas import EXAMPLES, published_schema

RECORD_ENV = "PRODUCTSTORE_RECORD_EVENTS"


def check_published(raw: bytes) -> dict[str, Any]:
    """The envelope of ``raw`` once its ``data`` is proven to match the published schema."""
    envelope: dict[str, Any] = json.loads(raw)
    event_type = envelope["type"]
    schema = published_schema(event_type)
    assert schema is not None, f"{event_type} has no published schema: run `make generate`"
    jsonschema.validate(envelope["data"], schema, cls=jsonschema.Draft202012Validator)
    if os.environ.get(RECORD_ENV) == "1":
        path = EXAMPLES / f"{event_type}.json"
        if not path.exists():
            EXAMPLES.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(envelope["data"], indent=2) + "\n", encoding="utf-8")
    return envelope
