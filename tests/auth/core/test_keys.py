"""Which keys sign and which are kept: pure functions over key sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from productstore_auth.app.core.keys import (
    MAX_PUBLISHED_KEYS,
    KeyDocumentError,
    StoredKey,
    active_key,
    decode_document,
    encode_document,
    new_key,
    retained,
)
from productstore_common.auth.keys import jwk_thumbprint, load_signing_key_pem

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _key(name: str, activates_in: int) -> StoredKey:
    return StoredKey(name, "pem", NOW, NOW + timedelta(seconds=activates_in))


RETIRE_AFTER = timedelta(seconds=990)


def _many(prefix: str, n: int, activates_in: int) -> list[StoredKey]:
    return [_key(f"{prefix}{i:02}", activates_in + i) for i in range(n)]


@pytest.mark.parametrize(
    ("keys", "signing", "kept"),
    [
        ([], None, []),
        ([_key("a", -10)], "a", ["a"]),
        ([_key("a", -20), _key("b", -10)], "b", ["a", "b"]),
        # Retired keys stay while their tokens may live (`b` stopped signing 10 s ago,
        # `a` 20 s ago), however many rotations there were.
        ([_key("a", -30), _key("b", -20), _key("c", -10)], "c", ["a", "b", "c"]),
        # ... and go once they cannot: `a` stopped signing (when `b` activated) longer
        # than RETIRE_AFTER ago.
        ([_key("a", -2000), _key("b", -991), _key("c", -10)], "c", ["b", "c"]),
        ([_key("a", -2000), _key("b", -1500), _key("c", -991)], "c", ["c"]),
        # A pending key is published but does not sign yet.
        ([_key("a", -20), _key("b", -10), _key("c", 60)], "b", ["a", "b", "c"]),
        ([_key("c", 60), _key("b", -10), _key("a", -20)], "b", ["a", "b", "c"]),
        ([_key("a", 60)], None, ["a"]),
        # A rotation replaces a pending key that cannot have signed anywhere yet ...
        ([_key("a", -10), _key("p", 300), _key("q", 330)], "a", ["a", "q"]),
        # ... but not one about to activate (a replica whose clock runs ahead may sign).
        ([_key("a", -10), _key("p", 30), _key("q", 330)], "a", ["a", "p", "q"]),
        # The hard cap: the oldest retired keys go first, never the signing or pending key.
        (_many("k", 20, -100), "k19", [f"k{i:02}" for i in range(4, 20)]),
        # Even of pending keys about to activate: the earliest, and the newest.
        (
            _many("k", 3, -100) + _many("p", 20, 1),
            "k02",
            ["k02", *(f"p{i:02}" for i in range(14)), "p19"],
        ),
    ],
)
def test_active_and_retained_keys(
    keys: list[StoredKey], signing: str | None, kept: list[str]
) -> None:
    active = active_key(keys, NOW)
    assert (active.kid if active else None) == signing
    assert sorted(key.kid for key in retained(keys, NOW, retire_after=RETIRE_AFTER)) == sorted(kept)
    assert len(retained(keys, NOW, retire_after=RETIRE_AFTER)) <= MAX_PUBLISHED_KEYS


def test_new_key_is_named_by_its_thumbprint_and_round_trips() -> None:
    stored, private = new_key(NOW, timedelta(seconds=30))
    assert stored.kid == jwk_thumbprint(private)
    assert stored.activates_at == NOW + timedelta(seconds=30)
    (decoded,) = decode_document(encode_document([stored]))
    assert decoded == stored
    assert jwk_thumbprint(load_signing_key_pem(decoded.private_key_pem)) == stored.kid


@pytest.mark.parametrize(
    "document",
    ["not json", {"format": 2, "keys": []}, {"format": 1, "keys": [{"kid": "a"}]}, []],
)
def test_unreadable_documents_are_refused(document: object) -> None:
    with pytest.raises(KeyDocumentError):
        decode_document(document)
