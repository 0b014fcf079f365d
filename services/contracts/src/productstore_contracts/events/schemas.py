"""Published event schemas: what a consumer built today may rely on tomorrow.

Every event type has a JSON Schema of its ``data`` in ``published/<type>.json``,
written once by ``make generate`` when the type first appears and never
rewritten by it. A later change to the model is checked against the published
schema in both directions, because producers and consumers are upgraded one
Deployment at a time and each side meets the other's old version:

- a new producer must not send what an old consumer refuses (a property the
  consumer needs removed or made optional, a value it does not know),
- a new consumer must not refuse what an old producer sends (a new required
  property, a narrower type or range).

So a property kept must keep its exact schema (descriptions and titles
aside), a property added must be optional, a property removed must have been
optional. Anything else is a new major version: a new ``.vN`` event type,
published next to the old one. Titles, descriptions and defaults may change.

``examples/<type>.json`` holds one example ``data`` per type, recorded from
what the producer's tests really published (``PRODUCTSTORE_RECORD_EVENTS=1``,
see tests/support/contracts.py); every consumer's tests decode them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from productstore_contracts.events import EventPayload
from productstore_contracts.events.catalog import CATALOG_TOPIC, PRODUCT_EVENTS
from productstore_contracts.events.inventory import INVENTORY_EVENTS, INVENTORY_TOPIC
from productstore_contracts.events.orders import ORDER_EVENTS, ORDERS_TOPIC
from productstore_contracts.events.reviews import REVIEW_EVENTS, REVIEWS_TOPIC
from productstore_contracts.events.wishlist import WISHLIST_EVENTS, WISHLIST_TOPIC

PUBLISHED: Final = Path(__file__).parent / "published"
EXAMPLES: Final = Path(__file__).parent / "examples"

# Every topic and the event types on it; a topic a descriptor names must be here.
TOPIC_EVENTS: Final[Mapping[str, tuple[type[EventPayload], ...]]] = {
    CATALOG_TOPIC: PRODUCT_EVENTS,
    INVENTORY_TOPIC: INVENTORY_EVENTS,
    ORDERS_TOPIC: ORDER_EVENTS,
    REVIEWS_TOPIC: REVIEW_EVENTS,
    WISHLIST_TOPIC: WISHLIST_EVENTS,
}

# Words of a schema that say nothing about which documents it accepts.
_PROSE: Final = frozenset({"title", "description", "examples", "default"})

Schema = dict[str, Any]


def event_types() -> dict[str, type[EventPayload]]:
    """Every event type of every topic, by its type name."""
    return {kind.event_type: kind for kinds in TOPIC_EVENTS.values() for kind in kinds}


def data_schema(kind: type[EventPayload]) -> Schema:
    """The JSON Schema of the event's ``data`` as consumers validate it."""
    return kind.model_json_schema(mode="validation")


def published_schema(event_type: str, directory: Path = PUBLISHED) -> Schema | None:
    """The schema published for ``event_type``, if it was published."""
    path = directory / f"{event_type}.json"
    if not path.is_file():
        return None
    found: Schema = json.loads(path.read_text(encoding="utf-8"))
    return found


def example(event_type: str, directory: Path = EXAMPLES) -> dict[str, Any] | None:
    """The recorded example ``data`` of ``event_type``, if one was recorded."""
    path = directory / f"{event_type}.json"
    if not path.is_file():
        return None
    found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return found


def _resolve(node: Any, defs: Mapping[str, Any]) -> Any:
    """``node`` with local ``$ref``s inlined and the prose words dropped."""
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(defs[ref.removeprefix("#/$defs/")], defs)
    return {k: _resolve(v, defs) for k, v in node.items() if k not in _PROSE and k != "$defs"}


def _is_object(node: Schema) -> bool:
    return node.get("type") == "object" and "properties" in node


def _is_array(node: Schema) -> bool:
    return node.get("type") == "array" and "items" in node


def _compare(old: Schema, new: Schema, path: str, out: list[str]) -> None:
    if _is_array(old) and _is_array(new):
        bounds_old = {k: v for k, v in old.items() if k != "items"}
        bounds_new = {k: v for k, v in new.items() if k != "items"}
        if bounds_old != bounds_new:
            out.append(f"{path or 'data'} changed from {bounds_old} to {bounds_new}")
        _compare(old["items"], new["items"], f"{path}[]", out)
        return
    if not (_is_object(old) and _is_object(new)):
        if old != new:
            out.append(
                f"{path or 'data'} changed from {json.dumps(old, sort_keys=True)} "
                f"to {json.dumps(new, sort_keys=True)}"
            )
        return
    old_props, new_props = old["properties"], new["properties"]
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    for name in sorted(old_props.keys() | new_props.keys()):
        where = f"{path}.{name}" if path else name
        if name not in new_props:
            if name in old_required:
                out.append(f"{where} was required and is gone: consumers built on it break")
            continue
        if name not in old_props:
            if name in new_required:
                out.append(f"{where} is new and required: events of old producers lack it")
            continue
        if (name in old_required) != (name in new_required):
            was = "required" if name in old_required else "optional"
            out.append(f"{where} was {was} and is not any more")
        _compare(old_props[name], new_props[name], where, out)
    rest_old = {k: v for k, v in old.items() if k not in {"properties", "required"}}
    rest_new = {k: v for k, v in new.items() if k not in {"properties", "required"}}
    if rest_old != rest_new:
        out.append(f"{path or 'data'}: the object's own rules changed ({rest_old} to {rest_new})")


def breaking_changes(published: Schema, current: Schema) -> list[str]:
    """What makes ``current`` incompatible with ``published`` (empty: compatible)."""
    out: list[str] = []
    _compare(
        _resolve(published, published.get("$defs", {})),
        _resolve(current, current.get("$defs", {})),
        "",
        out,
    )
    return out


def check(
    kinds: Iterable[type[EventPayload]], directory: Path = PUBLISHED
) -> tuple[list[type[EventPayload]], list[str]]:
    """The types with no published schema yet, and every breaking change of the others."""
    unpublished: list[type[EventPayload]] = []
    problems: list[str] = []
    for kind in kinds:
        published = published_schema(kind.event_type, directory)
        if published is None:
            unpublished.append(kind)
            continue
        problems += [
            f"{kind.event_type}: {change}"
            for change in breaking_changes(published, data_schema(kind))
        ]
    return unpublished, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m productstore_contracts.events.schemas",
        description="Publish the schema of every new event type; refuse a breaking change "
        "to a published one.",
    )
    parser.add_argument("--directory", type=Path, default=PUBLISHED)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; fail if a type is unpublished"
    )
    args = parser.parse_args(argv)
    unpublished, problems = check(event_types().values(), args.directory)
    for problem in problems:
        sys.stderr.write(f"breaking change: {problem}\n")
    if problems:
        sys.stderr.write(
            "a published event schema may only gain optional properties; publish the change "
            "as a new .vN event type instead\n"
        )
        return 1
    if args.check:
        for kind in unpublished:
            sys.stderr.write(f"unpublished event type: {kind.event_type}\n")
        return 1 if unpublished else 0
    args.directory.mkdir(parents=True, exist_ok=True)
    for kind in unpublished:
        path = args.directory / f"{kind.event_type}.json"
        path.write_text(json.dumps(data_schema(kind), indent=2) + "\n", encoding="utf-8")
        sys.stdout.write(f"published {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
