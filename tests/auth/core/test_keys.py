"""Which keys sign and which are kept: pure functions over key sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from productstore_auth.app.core.keys import (
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


@pytest.mark.parametrize(
    ("keys", "signing", "kept"),
    [
        ([], None, []),
        ([_key("a", -10)], "a", ["a"]),
        ([_key("a", -20), _key("b", -10)], "b", ["a", "b"]),
        ([_key("a", -30), _key("b", -20), _key("c", -10)], "c", ["b", "c"]),
        # A pending key is published but does not sign yet; the active one keeps its
        # predecessor.
        ([_key("a", -20), _key("b", -10), _key("c", 60)], "b", ["a", "b", "c"]),
        ([_key("c", 60), _key("b", -10), _key("a", -20)], "b", ["a", "b", "c"]),
        ([_key("a", 60)], None, ["a"]),
    ],
)
def test_active_and_retained_keys(
    keys: list[StoredKey], signing: str | None, kept: list[str]
) -> None:
    active = active_key(keys, NOW)
    assert (active.kid if active else None) == signing
    assert [key.kid for key in retained(keys, NOW)] == kept


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
