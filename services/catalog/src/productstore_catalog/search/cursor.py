"""Opaque keyset cursors: the last hit's sort key and id, bound to the query.

A cursor is base64url(JSON) + "." + base64url(HMAC-SHA256 truncated to 16 bytes).
The MAC catches tampering and corruption; the query fingerprint inside catches a
cursor reused with another q, filter set or order (the limit may change between
pages). For relevance order the cursor also freezes the corpus statistics the
first page scored with, so that writes between pages cannot move an unchanged
product across the page boundary.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from productstore_catalog.search.model import InvalidCursor, SearchQuery

SortKey = float | int | str
_MAC_BYTES = 16


@dataclass(frozen=True, slots=True)
class CorpusStats:
    """What BM25 needs of the whole corpus: size, mean field lengths, per-word document counts."""

    documents: int
    mean_name_length: float
    mean_description_length: float
    # per query word: (documents matching it exactly, documents matching it by typo only)
    document_frequencies: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Position:
    """Where the previous page ended."""

    key: SortKey
    product_id: UUID
    stats: CorpusStats | None


def fingerprint(query: SearchQuery) -> str:
    """Identifies everything that determines the result order, except the page size."""
    parts = [
        query.q,
        query.category,
        None if query.min_price is None else str(query.min_price.normalize()),
        None if query.max_price is None else str(query.max_price.normalize()),
        query.in_stock,
        query.min_rating,
        str(query.sort_by),
    ]
    encoded = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()[:32]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def encode(key: bytes, query: SearchQuery, position: Position) -> str:
    body: dict[str, Any] = {
        "q": fingerprint(query),
        "k": position.key,
        "id": str(position.product_id),
    }
    if position.stats is not None:
        stats = position.stats
        body["s"] = [
            stats.documents,
            stats.mean_name_length,
            stats.mean_description_length,
            [list(pair) for pair in stats.document_frequencies],
        ]
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    mac = hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]
    return f"{_b64encode(payload)}.{_b64encode(mac)}"


def decode(key: bytes, query: SearchQuery, cursor: str) -> Position:
    """The position a cursor points at; InvalidCursor if it is not one we issued for this query."""
    try:
        payload_text, mac_text = cursor.split(".")
        payload, mac = _b64decode(payload_text), _b64decode(mac_text)
    except (ValueError, binascii.Error) as error:
        raise InvalidCursor("cursor is malformed") from error
    expected = hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]
    if not hmac.compare_digest(mac, expected):
        raise InvalidCursor("cursor was not issued by this service or was altered")
    try:
        body = json.loads(payload)
        belongs = body["q"] == fingerprint(query)
        sort_key = body["k"]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidCursor("cursor is malformed") from error
    if not belongs:
        raise InvalidCursor("cursor belongs to a different query, filters or sort order")
    if not isinstance(sort_key, float | int | str) or isinstance(sort_key, bool):
        raise InvalidCursor("cursor is malformed")
    try:
        stats = None
        if "s" in body:
            documents, name_length, description_length, frequencies = body["s"]
            stats = CorpusStats(
                int(documents),
                float(name_length),
                float(description_length),
                tuple((int(exact), int(typo)) for exact, typo in frequencies),
            )
        return Position(sort_key, UUID(body["id"]), stats)
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidCursor("cursor is malformed") from error
